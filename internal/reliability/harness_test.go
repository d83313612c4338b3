package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
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

// apiKey is the bearer key of every versd these tests start. The secret
// checks look for it in logs and state, so it is long and distinctive.
const apiKey = "reliability-key-7f3e9a1c5b2d4e6f8a0b"

var (
	repoRoot    string
	cliConfig   string
	terraformCL string
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

// run builds the provider once and writes a dev_overrides CLI config, the
// way a developer loads an unreleased provider into terraform.
func run(m *testing.M) int {
	_, file, _, _ := runtime.Caller(0)
	repoRoot = filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	terraformCL = os.Getenv("TF_ACC_TERRAFORM_PATH")
	if terraformCL == "" {
		p, err := exec.LookPath("terraform")
		if err != nil {
			fmt.Fprintln(os.Stderr, "the reliability tests need the terraform CLI: put terraform (1.10 or newer) on PATH or set TF_ACC_TERRAFORM_PATH.")
			return 1
		}
		terraformCL = p
	}
	tmp, err := os.MkdirTemp("", "vers-reliability-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	pluginDir := filepath.Join(tmp, "plugins")
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
	return m.Run()
}

// endpoint is how the provider reaches one versd: in-process or a process.
type endpoint struct {
	URL, SSHAddress, CAFile, VMDomain string
}

func endpointOf(s *versd.Server) endpoint {
	return endpoint{URL: s.URL, SSHAddress: s.SSHAddress, CAFile: s.CAFile, VMDomain: s.VMDomain}
}

// startVersd runs an in-process versd on loopback with its own data
// directory, closed at the end of the test.
func startVersd(t testing.TB, faults versd.FaultOptions) *versd.Server {
	t.Helper()
	s, err := versd.Start(context.Background(), versd.Options{DataDir: t.TempDir(), APIKey: apiKey, Faults: faults})
	if err != nil {
		t.Fatalf("starting versd: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// client is a vers.Client on ep with few retries: the tests use it to look
// at versd, not to ride out faults.
func client(t testing.TB, ep endpoint, retries int) *vers.Client {
	t.Helper()
	c, err := vers.New(vers.Config{BaseURL: ep.URL, APIKey: apiKey, MaxRetries: retries,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: time.Second,
		VMDomain: ep.VMDomain, SSHAddress: ep.SSHAddress, SSHInsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// tfEnv is the environment of every terraform call: the dev_overrides config
// and the versd settings, nothing from the user's TF_/VERS_ variables.
func tfEnv(ep endpoint, extra ...string) []string {
	env := []string{}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "TF_") || strings.HasPrefix(kv, "VERS_") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "TF_CLI_CONFIG_FILE="+cliConfig, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1",
		"VERS_API_KEY="+apiKey, "VERS_BASE_URL="+ep.URL, "VERS_VM_DOMAIN="+ep.VMDomain,
		"VERS_SSH_ADDRESS="+ep.SSHAddress, "VERS_SSH_CA_FILE="+ep.CAFile)
	return append(env, extra...)
}

// tfTry runs terraform in dir and returns its combined output.
func tfTry(ep endpoint, dir string, extraEnv []string, args ...string) (string, error) {
	cmd := exec.Command(terraformCL, append([]string{"-chdir=" + dir}, args...)...)
	cmd.Env = tfEnv(ep, extraEnv...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	return buf.String(), err
}

// tf runs terraform and fails the test with its output when it fails.
func tf(t testing.TB, ep endpoint, dir string, args ...string) string {
	t.Helper()
	out, err := tfTry(ep, dir, nil, args...)
	if err != nil {
		t.Fatalf("terraform %s failed: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// writeFiles creates dir/name for each entry and returns dir.
func writeFiles(t testing.TB, dir string, files map[string]string) string {
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

const providerHeader = `terraform {
  required_providers {
    vers = { source = "vers-sh/vers" }
  }
}
`

// stateResources reads terraform.tfstate in dir: resource type → instance
// attribute maps.
func stateResources(t testing.TB, dir string) map[string][]map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "terraform.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Resources []struct {
			Mode      string `json:"mode"`
			Type      string `json:"type"`
			Instances []struct {
				Attributes map[string]any `json:"attributes"`
			} `json:"instances"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatalf("terraform.tfstate: %v", err)
	}
	out := map[string][]map[string]any{}
	for _, r := range st.Resources {
		if r.Mode != "managed" {
			continue
		}
		for _, in := range r.Instances {
			out[r.Type] = append(out[r.Type], in.Attributes)
		}
	}
	return out
}

// healthy fails the test unless versd answers GET /health with 200.
func healthy(t testing.TB, baseURL string) {
	t.Helper()
	resp, err := http.Get(baseURL + "/health")
	if err != nil {
		t.Fatalf("versd is not answering /health: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("versd /health: status %d", resp.StatusCode)
	}
}

// countVMs and repoTags look at versd through the client.
func countVMs(t testing.TB, c *vers.Client) []vers.VM {
	t.Helper()
	vms, err := c.ListVMs(context.Background())
	if err != nil {
		t.Fatalf("listing VMs: %v", err)
	}
	return vms
}

func repoTags(t testing.TB, c *vers.Client, repo string) map[string]string {
	t.Helper()
	resp, err := c.ListRepoTags(context.Background(), repo)
	if err != nil {
		t.Fatalf("listing tags of %s: %v", repo, err)
	}
	out := map[string]string{}
	for _, tg := range resp.Tags {
		if _, dup := out[tg.TagName]; dup {
			t.Fatalf("repo %s lists tag %s twice", repo, tg.TagName)
		}
		out[tg.TagName] = tg.CommitID
	}
	return out
}

// noFaults starts versd without fault injection.
var noFaults = versd.FaultOptions{}
