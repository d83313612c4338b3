package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vers-sh/terraform-provider-vers/internal/tfharness"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
	"github.com/vers-sh/terraform-provider-vers/internal/versd"
)

// apiKey is the bearer key of every versd these tests start. The secret
// checks look for it in logs and state, so it is long and distinctive.
const apiKey = "reliability-key-7f3e9a1c5b2d4e6f8a0b"

var (
	harness  *tfharness.Harness
	repoRoot string
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

// run builds the provider once and writes a dev_overrides CLI config, the
// way a developer loads an unreleased provider into terraform.
func run(m *testing.M) int {
	// These tests start real versd servers and VMs, most of them drive
	// terraform: acceptance tests, which skip without TF_ACC like the
	// provider's and e2e's, so a plain go test ./... stays quick.
	if os.Getenv("TF_ACC") == "" {
		fmt.Println("reliability: acceptance tests skipped; set TF_ACC=1 to run them (make test does)")
		return 0
	}
	var err error
	if harness, err = tfharness.Setup(); err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		return 1
	}
	defer harness.Close()
	repoRoot = harness.RepoRoot
	return m.Run()
}

// endpoint is how the provider reaches one versd: in-process or a process.
type endpoint = tfharness.Endpoint

func endpointOf(s *versd.Server) endpoint { return tfharness.EndpointOf(s) }

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

// tfTry runs terraform in dir and returns its combined output.
func tfTry(ep endpoint, dir string, extraEnv []string, args ...string) (string, error) {
	return harness.Run(ep, dir, extraEnv, args...)
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
	return tfharness.WriteFiles(t, dir, files)
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
