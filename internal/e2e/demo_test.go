package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDemoScript runs scripts/demo.sh exactly as `make demo` does and checks
// the promises its output makes: proof from inside the VM and an in-place
// rollback plan.
func TestDemoScript(t *testing.T) {
	cmd := exec.Command("bash", filepath.Join(repoRoot, "scripts", "demo.sh"))
	cmd.Dir = repoRoot
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VERS_") && !strings.HasPrefix(kv, "TF_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "TERRAFORM="+harness.Terraform)
	out, err := cmd.CombinedOutput()
	text := string(out)
	if err != nil {
		t.Fatalf("demo failed: %v\n%s", err, text)
	}
	for _, want := range []string{
		`==> \[8/8\] summary`,
		`\| hello from `, // output of the COPY'd script, run by a RUN
		`\| version 1`,   // a RUN's result, read inside the VM
		`vers_tag.latest will be updated in-place`,  // rollback is an update
		`Plan: 0 to add, 1 to change, 0 to destroy`, // and nothing else
		`quickstart:latest -> [0-9a-f-]+ \(build 1 again\)`,
	} {
		if !regexp.MustCompile(want).MatchString(text) {
			t.Errorf("demo output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "FAILED") {
		t.Errorf("demo reported a failure:\n%s", text)
	}
}

// TestQuickstartTerraformTest runs the module tests shipped with the
// quickstart (mock_provider, plan only) through `terraform test`.
func TestQuickstartTerraformTest(t *testing.T) {
	dir := copyDir(t, filepath.Join(repoRoot, "examples", "quickstart"))
	out := tf(t, dir, "test", "-no-color")
	if !regexp.MustCompile(`Success! 2 passed, 0 failed`).MatchString(out) {
		t.Fatalf("terraform test did not pass both runs:\n%s", out)
	}
}
