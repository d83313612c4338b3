// Package e2e runs the shipped examples and scripts the way users do: the
// provider binary built with `go build`, loaded by the terraform CLI through
// dev_overrides, against a real versd on loopback.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vers-sh/terraform-provider-vers/internal/tfharness"
	"github.com/vers-sh/terraform-provider-vers/internal/versd"
)

var (
	harness  *tfharness.Harness
	repoRoot string
	server   *versd.Server
	endpoint tfharness.Endpoint
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	// Everything here drives the real provider through the terraform CLI
	// against a real versd: acceptance tests, which skip without TF_ACC.
	if os.Getenv("TF_ACC") == "" {
		fmt.Println("e2e: acceptance tests skipped; set TF_ACC=1 to run them (make test does)")
		return 0
	}
	var err error
	if harness, err = tfharness.Setup(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer harness.Close()
	repoRoot = harness.RepoRoot
	dataDir, err := os.MkdirTemp("", "vers-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dataDir)
	// "publisher" is a second organisation whose public images the default
	// one forks (repo_fork_test.go).
	server, err = versd.Start(context.Background(), versd.Options{DataDir: dataDir, APIKey: "e2e-key-not-secret-to-anyone",
		Orgs: []versd.OrgKey{{Name: "publisher", APIKey: "e2e-publisher-key-not-secret-either"}}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot start versd:", err)
		return 1
	}
	defer server.Close()
	endpoint = tfharness.EndpointOf(server)
	return m.Run()
}

// tf runs terraform in dir and fails the test with its output on error.
func tf(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := tfTry(dir, args...)
	if err != nil {
		t.Fatalf("terraform %s failed: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func tfTry(dir string, args ...string) (string, error) {
	return harness.Run(endpoint, dir, nil, args...)
}

// outputs reads `terraform output -json` into plain Go values.
func outputs(t testing.TB, dir string) map[string]any {
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
