// Package tfharness runs the terraform CLI against the provider built from
// this repository, loaded through a dev_overrides CLI configuration, the way
// a developer tries an unreleased provider, and gives tests an API client to
// an in-process versd. Test suites share it; it is imported by tests only.
package tfharness

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
	"github.com/vers-sh/terraform-provider-vers/internal/versd"
)

// Harness is one provider build and the CLI configuration that loads it.
type Harness struct {
	RepoRoot  string
	Terraform string // the terraform binary
	CLIConfig string // dev_overrides config (TF_CLI_CONFIG_FILE)
	dir       string
}

// Endpoint is how the provider reaches one versd, in-process or a process.
type Endpoint struct {
	URL, APIKey, SSHAddress, CAFile, VMDomain string
}

// EndpointOf describes an in-process versd, as its default organisation.
func EndpointOf(s *versd.Server) Endpoint {
	return Endpoint{URL: s.URL, APIKey: s.APIKey, SSHAddress: s.SSHAddress, CAFile: s.CAFile, VMDomain: s.VMDomain}
}

// EndpointOfOrg is EndpointOf acting as another organisation of the server
// (one of versd.Options.Orgs); it fails the test for an unknown one.
func EndpointOfOrg(t testing.TB, s *versd.Server, org string) Endpoint {
	t.Helper()
	ep := EndpointOf(s)
	ep.APIKey = orgKey(t, s, org)
	return ep
}

func orgKey(t testing.TB, s *versd.Server, org string) string {
	t.Helper()
	key, ok := s.KeyOf(org)
	if !ok {
		t.Fatalf("versd has no organisation %q with a key; add it to Options.Orgs", org)
	}
	return key
}

// RepoRoot is the repository this package is part of.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Setup finds terraform (TF_ACC_TERRAFORM_PATH, else PATH), builds the
// provider into a temporary directory and writes the CLI configuration.
// Close removes both.
func Setup() (*Harness, error) {
	h := &Harness{RepoRoot: RepoRoot(), Terraform: os.Getenv("TF_ACC_TERRAFORM_PATH")}
	if h.Terraform == "" {
		p, err := exec.LookPath("terraform")
		if err != nil {
			return nil, errors.New("these tests need the terraform CLI: put terraform (1.10 or newer) on PATH or set TF_ACC_TERRAFORM_PATH")
		}
		h.Terraform = p
	}
	dir, err := os.MkdirTemp("", "vers-tfharness-")
	if err != nil {
		return nil, err
	}
	h.dir = dir
	plugins := filepath.Join(dir, "plugins")
	build := exec.Command("go", "build", "-o", filepath.Join(plugins, "terraform-provider-vers"), ".")
	build.Dir = h.RepoRoot
	if out, err := build.CombinedOutput(); err != nil {
		h.Close()
		return nil, fmt.Errorf("building the provider failed: %v\n%s", err, out)
	}
	h.CLIConfig = filepath.Join(dir, "terraformrc")
	rc := fmt.Sprintf("provider_installation {\n  dev_overrides {\n    \"vers-sh/vers\" = %q\n  }\n  direct {}\n}\n", plugins)
	if err := os.WriteFile(h.CLIConfig, []byte(rc), 0o644); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// Close removes the provider build.
func (h *Harness) Close() { os.RemoveAll(h.dir) }

// Env is the environment of every terraform call: the dev_overrides config
// and the versd settings, nothing from the user's own TF_/VERS_ variables.
func (h *Harness) Env(ep Endpoint, extra ...string) []string {
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TF_") && !strings.HasPrefix(kv, "VERS_") {
			env = append(env, kv)
		}
	}
	env = append(env, "TF_CLI_CONFIG_FILE="+h.CLIConfig, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1",
		"VERS_API_KEY="+ep.APIKey, "VERS_BASE_URL="+ep.URL, "VERS_VM_DOMAIN="+ep.VMDomain,
		"VERS_SSH_ADDRESS="+ep.SSHAddress, "VERS_SSH_CA_FILE="+ep.CAFile)
	return append(env, extra...)
}

// Command prepares terraform in dir without running it.
func (h *Harness) Command(ep Endpoint, dir string, extraEnv []string, args ...string) *exec.Cmd {
	cmd := exec.Command(h.Terraform, append([]string{"-chdir=" + dir}, args...)...)
	cmd.Env = h.Env(ep, extraEnv...)
	return cmd
}

// Run runs terraform in dir and returns its combined output.
func (h *Harness) Run(ep Endpoint, dir string, extraEnv []string, args ...string) (string, error) {
	cmd := h.Command(ep, dir, extraEnv, args...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	return buf.String(), err
}

// WriteFiles creates dir/name for each entry and returns dir.
func WriteFiles(t testing.TB, dir string, files map[string]string) string {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Client is an API client to an in-process versd that verifies the SSH
// gateway against versd's own CA, as a user's configuration would.
func Client(t testing.TB, s *versd.Server, maxRetries int) *vers.Client {
	t.Helper()
	return clientWithKey(t, s, s.APIKey, maxRetries)
}

// ClientOfOrg is Client acting as another organisation of the server.
func ClientOfOrg(t testing.TB, s *versd.Server, org string, maxRetries int) *vers.Client {
	t.Helper()
	return clientWithKey(t, s, orgKey(t, s, org), maxRetries)
}

func clientWithKey(t testing.TB, s *versd.Server, key string, maxRetries int) *vers.Client {
	t.Helper()
	pem, err := os.ReadFile(s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no CA certificate in %s", s.CAFile)
	}
	c, err := vers.New(vers.Config{BaseURL: s.URL, APIKey: key, VMDomain: s.VMDomain,
		SSHAddress: s.SSHAddress, SSHRootCAs: pool, MaxRetries: maxRetries, UserAgent: "vers-tests"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// BootVM starts a VM from commitID, waits until it runs and deletes it when
// the test ends: how the suites look inside a commit they made.
func BootVM(t testing.TB, c *vers.Client, commitID string) string {
	t.Helper()
	ctx := context.Background()
	vm, err := c.CreateVMFromCommit(ctx, vers.FromCommitRequest{CommitID: commitID})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = c.DeleteVM(context.Background(), vm.VMID) })
	if err := c.WaitForVMRunning(ctx, vm.VMID, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	return vm.VMID
}
