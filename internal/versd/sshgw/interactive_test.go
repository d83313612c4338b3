package sshgw

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// What `vers connect` and `ssh -t` do: pty-req, shell, window-change,
// signal, and an exit-status at the end.
func TestShellWithTerminal(t *testing.T) {
	vm := newTestVM(t, vmA, t.TempDir())
	client := startGateway(t, vm).mustDial(t, vm)
	sess := mustSession(t, client)
	stdout, err := sess.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	expect := func(want string) {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("output ended, want %q (%v)", want, lines.Err())
		}
		if lines.Text() != want {
			t.Fatalf("got %q, want %q", lines.Text(), want)
		}
	}
	if ok, _ := sess.SendRequest("window-change", true, ssh.Marshal(windowChange{Cols: 1, Rows: 1})); ok {
		t.Fatal("window-change before pty-req was accepted")
	}
	if err := sess.RequestPty("xterm-256color", 24, 80, ssh.TerminalModes{ssh.ECHO: 1}); err != nil {
		t.Fatalf("pty-req: %v", err)
	}
	// A resize before the shell starts changes the initial size.
	if err := sess.WindowChange(30, 90); err != nil {
		t.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		t.Fatalf("shell: %v", err)
	}
	expect("shell term=xterm-256color rows=30 cols=90")
	if err := sess.WindowChange(50, 120); err != nil {
		t.Fatal(err)
	}
	expect("resize rows=50 cols=120")
	if err := sess.Signal(ssh.SIGINT); err != nil {
		t.Fatal(err)
	}
	expect("signal INT")
	if err := sess.Signal(ssh.SIGTERM); err != nil {
		t.Fatal(err)
	}
	expect("signal TERM")
	var exitErr *ssh.ExitError
	if err := sess.Wait(); !errors.As(err, &exitErr) || exitErr.ExitStatus() != 143 {
		t.Fatalf("Wait = %v, want exit status 143", err)
	}
}

// An exec after pty-req runs on a terminal too, whose single output stream
// carries what would be stderr; a second exec on the channel is refused.
func TestExecWithTerminalMergesStderr(t *testing.T) {
	vm := newTestVM(t, vmA, t.TempDir())
	var seen *Process
	vm.target.Exec = func(ctx context.Context, p *Process) (ExitStatus, error) {
		seen = p
		fmt.Fprint(p.Stderr, "to-stderr")
		return ExitStatus{}, nil
	}
	client := startGateway(t, vm).mustDial(t, vm)
	sess := mustSession(t, client)
	if err := sess.RequestPty("vt100", 10, 20, nil); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr strings.Builder
	sess.Stdout, sess.Stderr = &stdout, &stderr
	if err := sess.Run("top"); err != nil {
		t.Fatal(err)
	}
	if seen == nil || seen.TTY == nil || seen.TTY.Term != "vt100" || seen.Command != "top" {
		t.Fatalf("process = %+v", seen)
	}
	if stdout.String() != "to-stderr" || stderr.Len() != 0 {
		t.Fatalf("stdout %q stderr %q; a terminal has one stream", stdout.String(), stderr.String())
	}
}

// direct-tcpip channels go to the VM's Dial with the requested host and
// port, and carry bytes both ways with half-closes passed on.
func TestDirectTCPIPUsesVMDial(t *testing.T) {
	vm := newTestVM(t, vmA, t.TempDir())
	type dialed struct {
		host string
		port int
	}
	calls := make(chan dialed, 4)
	// An upper-casing echo server stands in for a service inside the VM.
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			data, _ := io.ReadAll(c)
			c.Write([]byte(strings.ToUpper(string(data))))
			c.Close()
		}
	}()
	vm.target.Dial = func(ctx context.Context, host string, port int) (net.Conn, error) {
		calls <- dialed{host, port}
		if port == 9 {
			return nil, errors.New("connection refused")
		}
		var d net.Dialer
		return d.DialContext(ctx, "tcp", echo.Addr().String())
	}
	client := startGateway(t, vm).mustDial(t, vm)
	conn, err := client.Dial("tcp", "localhost:8080")
	if err != nil {
		t.Fatalf("Dial through the tunnel: %v", err)
	}
	if got := <-calls; got != (dialed{"localhost", 8080}) {
		t.Fatalf("VM Dial got %+v", got)
	}
	conn.Write([]byte("ping"))
	conn.(interface{ CloseWrite() error }).CloseWrite()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	reply, err := io.ReadAll(conn)
	if err != nil || string(reply) != "PING" {
		t.Fatalf("reply %q, %v", reply, err)
	}
	if _, err := client.Dial("tcp", "localhost:9"); err == nil {
		t.Fatal("a refused connection inside the VM opened a channel")
	}
}
