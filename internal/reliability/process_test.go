package reliability

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"

	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// versdProcess is versd run as a separate command, so a test can SIGKILL it
// and start it again on the same data directory and ports.
type versdProcess struct {
	bin, dataDir, listen, sshListen string
	cmd                             *exec.Cmd
	ep                              endpoint
	log                             *lockedBuffer
}

// buildVersd compiles tools/versd into a temporary directory.
func buildVersd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "versd")
	cmd := exec.Command("go", "build", "-o", bin, "./tools/versd")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building tools/versd: %v\n%s", err, out)
	}
	return bin
}

// freePort returns a loopback address nothing listens on right now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func newVersdProcess(t *testing.T) *versdProcess {
	p := &versdProcess{bin: buildVersd(t), dataDir: filepath.Join(t.TempDir(), "data"),
		listen: freePort(t), sshListen: freePort(t), log: &lockedBuffer{}}
	t.Cleanup(func() { p.stop(t, syscall.SIGTERM) })
	return p
}

// start launches versd and waits for its export lines.
func (p *versdProcess) start(t *testing.T) {
	t.Helper()
	p.cmd = exec.Command(p.bin, "--listen", p.listen, "--ssh-listen", p.sshListen, "--data", p.dataDir, "--quiet")
	p.cmd.Env = append(os.Environ(), "VERSD_API_KEY="+apiKey)
	p.cmd.Stderr = p.log
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exports := map[string]string{}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "="); ok && strings.HasPrefix(sc.Text(), "export ") {
			exports[k] = strings.Trim(v, "'")
		}
		if len(exports) == 6 {
			break
		}
	}
	go io.Copy(io.Discard, stdout)
	if len(exports) < 6 {
		t.Fatalf("versd printed %d export lines before exiting; its log:\n%s", len(exports), p.log)
	}
	p.ep = endpoint{URL: exports["VERS_BASE_URL"], APIKey: exports["VERS_API_KEY"], SSHAddress: exports["VERS_SSH_ADDRESS"],
		CAFile: exports["VERS_SSH_CA_FILE"], VMDomain: exports["VERS_VM_DOMAIN"]}
	healthy(t, p.ep.URL)
}

// stop sends sig (SIGKILL: a crash; SIGTERM: a clean stop) and waits.
func (p *versdProcess) stop(t *testing.T, sig syscall.Signal) {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(sig)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
	p.cmd = nil
}

// lockedBuffer collects output written from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// runningTerraform is a terraform command whose output can be watched.
type runningTerraform struct {
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan error
}

func startTerraform(t *testing.T, ep endpoint, dir string, args ...string) *runningTerraform {
	t.Helper()
	r := &runningTerraform{out: &lockedBuffer{}, done: make(chan error, 1)}
	r.cmd = harness.Command(ep, dir, nil, args...)
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- r.cmd.Wait() }()
	return r
}

// waitFor polls the output until it contains s, or fails after timeout.
func (r *runningTerraform) waitFor(t *testing.T, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(r.out.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("terraform never printed %q:\n%s", s, r.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *versdProcess) String() string { return fmt.Sprintf("versd pid %d", p.cmd.Process.Pid) }
