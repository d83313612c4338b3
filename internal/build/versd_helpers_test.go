package build

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vers-sh/terraform-provider-vers/internal/tfharness"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
	"github.com/vers-sh/terraform-provider-vers/internal/versd"
)

// testServer is an in-process versd with a client to it.
type testServer struct {
	srv    *versd.Server
	client *vers.Client
}

func startServer(t *testing.T, mutate ...func(*versd.Options)) *testServer {
	t.Helper()
	opts := versd.Options{DataDir: t.TempDir(), APIKey: "k"}
	for _, m := range mutate {
		m(&opts)
	}
	srv, err := versd.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return &testServer{srv: srv, client: tfharness.Client(t, srv, 2)}
}

// vmsBooted is how many VMs versd created since the last reset.
func (s *testServer) vmsBooted() int { return s.srv.Stats().VMsCreated }

// afterBoot runs f d after versd has booted a VM. Tests that cancel a
// build mid-step count from the builder's boot, not from the step's start:
// a runc VM start on a loaded machine can take a second, and a cancel before
// the create answers tests something else (the sweeper's labelled leftovers).
func (s *testServer) afterBoot(d time.Duration, f func()) {
	go func() {
		for s.vmsBooted() == 0 {
			time.Sleep(20 * time.Millisecond)
		}
		time.AfterFunc(d, f)
	}()
}

// liveVMs lists the VMs versd still runs.
func (s *testServer) liveVMs(t *testing.T) []vers.VM {
	t.Helper()
	vms, err := s.client.ListVMs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return vms
}

// writeTree creates files under dir; a name ending in "/" is a directory.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// prepare runs Prepare on an inline Dockerfile over dir.
func prepare(t *testing.T, dir, dockerfileText string) *Prepared {
	t.Helper()
	one, mem, fsz := int64(1), int64(512), int64(1024)
	prep, err := Prepare(context.Background(), Spec{ContextDir: dir, DockerfileContent: []byte(dockerfileText),
		VMConfig: &vers.VMConfig{VcpuCount: &one, MemSizeMib: &mem, FsSizeMib: &fsz}})
	if err != nil {
		t.Fatal(err)
	}
	return prep
}

// execIn runs a command in a VM and returns its trimmed stdout, failing on
// a non-zero exit.
func execIn(t *testing.T, c *vers.Client, vmID string, argv ...string) string {
	t.Helper()
	out, err := c.Exec(context.Background(), vmID, vers.ExecRequest{Command: argv})
	if err != nil {
		t.Fatal(err)
	}
	if out.ExitCode != 0 {
		t.Fatalf("%v exited %d: %s", argv, out.ExitCode, out.Stderr)
	}
	return strings.TrimSpace(out.Stdout)
}
