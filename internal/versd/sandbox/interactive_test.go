package sandbox

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// interactive runs spec with a live stdin and a control channel; lines of
// its stdout arrive on the returned channel.
type interactive struct {
	stdin *io.PipeWriter
	ctl   chan Control
	lines chan string
	done  chan int
	errc  chan error
}

func startInteractive(t *testing.T, m *Manager, id string, spec ExecSpec) *interactive {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	it := &interactive{stdin: inW, ctl: make(chan Control), lines: make(chan string, 100), done: make(chan int, 1), errc: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			it.lines <- strings.TrimRight(sc.Text(), "\r")
		}
		close(it.lines)
	}()
	go func() {
		st, err := m.ExecInteractive(ctx, id, spec, inR, outW, outW, it.ctl)
		outW.Close()
		if err != nil {
			it.errc <- err
			return
		}
		it.done <- st.Code
	}()
	return it
}

// waitLine waits for a stdout line containing want.
func (it *interactive) waitLine(t *testing.T, want string) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-it.lines:
			if !ok {
				t.Fatalf("output ended before a line with %q", want)
			}
			if strings.Contains(l, want) {
				return
			}
		case err := <-it.errc:
			t.Fatalf("exec failed waiting for %q: %v", want, err)
		case <-timeout:
			t.Fatalf("no line with %q", want)
		}
	}
}

func (it *interactive) exitCode(t *testing.T) int {
	t.Helper()
	select {
	case code := <-it.done:
		return code
	case err := <-it.errc:
		t.Fatalf("exec: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("command did not exit")
	}
	return -1
}

// A TTY exec gets a terminal allocated inside the VM (its own devpts), the
// requested size and TERM; resizes and signals reach it.
func TestExecWithTerminal(t *testing.T) {
	m := newTestManager(t)
	startVM(t, m, "tty")
	it := startInteractive(t, m, "tty", ExecSpec{
		Command: []string{"/bin/sh", "-c", `echo "tty=$(tty) size=$(stty size) term=$TERM"; read x; echo "now=$(stty size)"; ` +
			`trap 'echo got-int; exit 5' INT; echo ready; while :; do sleep 0.1; done`},
		TTY: &TTYSpec{Term: "xterm-256color", Rows: 40, Cols: 100},
	})
	it.waitLine(t, "tty=/dev/pts/0 size=40 100 term=xterm-256color")
	it.ctl <- Control{Resize: &TTYSpec{Rows: 50, Cols: 120}}
	time.Sleep(200 * time.Millisecond) // the resize frame goes out before the input below
	fmt.Fprintln(it.stdin, "go")
	it.waitLine(t, "now=50 120")
	it.waitLine(t, "ready")
	it.ctl <- Control{Signal: "INT"}
	it.waitLine(t, "got-int")
	if code := it.exitCode(t); code != 5 {
		t.Fatalf("exit code %d, want 5 from the INT trap", code)
	}
	// The VM's terminals are its own: the host's devpts is not mounted there.
	if out := mustSucceed(t, m, "tty", "ls /dev/pts"); strings.TrimSpace(out) != "ptmx" {
		t.Fatalf("/dev/pts in the VM lists %q; want only ptmx (a private devpts instance)", out)
	}
}

// Signals also reach commands without a terminal.
func TestExecSignalWithoutTerminal(t *testing.T) {
	m := newTestManager(t)
	startVM(t, m, "sig")
	it := startInteractive(t, m, "sig", ExecSpec{Command: []string{"/bin/sh", "-c", `trap 'echo got-term; exit 7' TERM; echo ready; while :; do sleep 0.1; done`}})
	it.waitLine(t, "ready")
	it.ctl <- Control{Signal: "TERM"}
	it.waitLine(t, "got-term")
	if code := it.exitCode(t); code != 7 {
		t.Fatalf("exit code %d, want 7", code)
	}
}

// Dial reaches a server listening on the VM's loopback, and nothing on the
// host's loopback.
func TestDialReachesVMLoopbackOnly(t *testing.T) {
	m := newTestManager(t)
	startVM(t, m, "web")
	mustSucceed(t, m, "web", "mkdir -p /www && echo hello-from-vm > /www/index.html && httpd -p 127.0.0.1:8080 -h /www")

	// A host service on loopback, which the VM must not reach.
	hostL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hostL.Close()
	go http.Serve(hostL, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "HOST SECRET") }))
	hostPort := hostL.Addr().(*net.TCPAddr).Port

	ctx := context.Background()
	var body string
	for i := 0; i < 50; i++ { // httpd daemonises; give it a moment to listen
		conn, err := m.Dial(ctx, "web", "localhost", 8080)
		if err != nil {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		body = httpGet(t, conn)
		break
	}
	if !strings.Contains(body, "hello-from-vm") {
		t.Fatalf("GET through Dial = %q", body)
	}
	for _, host := range []string{"127.0.0.1", "localhost"} {
		if conn, err := m.Dial(ctx, "web", host, hostPort); err == nil {
			got := httpGet(t, conn)
			t.Fatalf("Dial %s:%d reached the host's loopback service: %q", host, hostPort, got)
		}
	}
	if _, err := m.Dial(ctx, "web", "localhost", 0); err == nil {
		t.Fatal("port 0 accepted")
	}
	if _, err := m.Dial(ctx, "nosuchvm", "localhost", 80); err == nil {
		t.Fatal("Dial to a missing VM succeeded")
	}
}

func httpGet(t *testing.T, conn net.Conn) string {
	t.Helper()
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprint(conn, "GET / HTTP/1.0\r\nHost: vm\r\n\r\n")
	b, _ := io.ReadAll(conn)
	return string(b)
}
