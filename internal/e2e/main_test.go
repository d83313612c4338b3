// Package e2e runs the shipped examples and scripts the way users do: the
// provider binary built with `go build`, loaded by the terraform CLI through
// dev_overrides, against a real versd on loopback.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/vers-sh/terraform-provider-vers/internal/versd"
)

var (
	repoRoot    string
	pluginDir   string
	cliConfig   string
	server      *versd.Server
	terraformCL string
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	_, file, _, _ := runtime.Caller(0)
	repoRoot = filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	terraformCL = os.Getenv("TF_ACC_TERRAFORM_PATH")
	if terraformCL == "" {
		p, err := exec.LookPath("terraform")
		if err != nil {
			fmt.Fprintln(os.Stderr, "the end-to-end tests need the terraform CLI: put terraform (1.10 or newer) on PATH or set TF_ACC_TERRAFORM_PATH.")
			return 1
		}
		terraformCL = p
	}
	tmp, err := os.MkdirTemp("", "vers-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	pluginDir = filepath.Join(tmp, "plugins")
	build := exec.Command("go", "build", "-o", filepath.Join(pluginDir, "terraform-provider-vers"), ".")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the provider failed: %v\n%s", err, out)
		return 1
	}
	cliConfig = filepath.Join(tmp, "terraformrc")
	rc := fmt.Sprintf("provider_installation {\n  dev_overrides {\n    \"vers-sh/vers\" = %q\n  }\n  direct {}\n}\n", pluginDir)
	if err := os.WriteFile(cliConfig, []byte(rc), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	server, err = versd.Start(context.Background(), versd.Options{DataDir: filepath.Join(tmp, "versd"), APIKey: "e2e-key-not-secret-to-anyone"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot start versd:", err)
		return 1
	}
	defer server.Close()
	return m.Run()
}

// tfEnv is the environment every terraform call gets: the dev_overrides CLI
// config and the versd connection settings, nothing from the user's home.
func tfEnv(extra ...string) []string {
	env := []string{}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "TF_") || strings.HasPrefix(kv, "VERS_") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "TF_CLI_CONFIG_FILE="+cliConfig, "TF_IN_AUTOMATION=1",
		"VERS_API_KEY="+server.APIKey, "VERS_BASE_URL="+server.URL, "VERS_VM_DOMAIN="+server.VMDomain,
		"VERS_SSH_ADDRESS="+server.SSHAddress, "VERS_SSH_CA_FILE="+server.CAFile)
	return append(env, extra...)
}

// tf runs terraform in dir and fails the test with its output on error.
func tf(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := tfTry(dir, args...)
	if err != nil {
		t.Fatalf("terraform %s failed: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func tfTry(dir string, args ...string) (string, error) {
	cmd := exec.Command(terraformCL, append([]string{"-chdir=" + dir}, args...)...)
	cmd.Env = tfEnv()
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	return buf.String(), err
}

// outputs reads `terraform output -json` into plain Go values.
func outputs(t *testing.T, dir string) map[string]any {
	t.Helper()
	raw := tf(t, dir, "output", "-json")
	var parsed map[string]struct {
		Value any `json:"value"`
	}
	if err := json.Unmarshal([]byte(raw), &parsed); err != nil {
		t.Fatalf("terraform output -json: %v\n%s", err, raw)
	}
	out := map[string]any{}
	for k, v := range parsed {
		out[k] = v.Value
	}
	return out
}

// copyDir copies an example into a scratch directory so runs never write
// .terraform or state into the repository.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	cmd := exec.Command("cp", "-r", src, dst)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("copy %s: %v\n%s", src, err, out)
	}
	return dst
}

// planActions returns resource address → actions of a saved plan.
func planActions(t *testing.T, dir, planFile string) map[string][]string {
	t.Helper()
	raw := tf(t, dir, "show", "-json", planFile)
	var plan struct {
		ResourceChanges []struct {
			Address string `json:"address"`
			Change  struct {
				Actions []string `json:"actions"`
			} `json:"change"`
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal([]byte(raw), &plan); err != nil {
		t.Fatalf("terraform show -json: %v", err)
	}
	out := map[string][]string{}
	for _, rc := range plan.ResourceChanges {
		out[rc.Address] = rc.Change.Actions
	}
	return out
}
