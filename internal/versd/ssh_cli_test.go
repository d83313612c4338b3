package versd

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// cliDial connects the way the official CLI does: TLS without verification
// and SNI <vm>.<domain>, then SSH as root with the VM's key.
func cliDial(t testing.TB, s *Server, c *client, vmID string) *ssh.Client {
	t.Helper()
	return cliDialVia(t, s, c, vmID, s.SSHAddress)
}

// cliDialVia is cliDial through another address (a latency proxy).
func cliDialVia(t testing.TB, s *Server, c *client, vmID, addr string) *ssh.Client {
	t.Helper()
	var key vers.SSHKeyResponse
	c.must(200, "GET", "/api/v1/vm/"+vmID+"/ssh_key", nil, &key)
	signer, err := ssh.ParsePrivateKey([]byte(key.SSHPrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	host := vmID + "." + s.VMDomain
	conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: host, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	sc, chans, reqs, err := ssh.NewClientConn(conn, host, &ssh.ClientConfig{
		User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	client := ssh.NewClient(sc, chans, reqs)
	t.Cleanup(func() { client.Close() })
	return client
}

// `vers connect`: pty-req with the CLI's modes, a login shell on a terminal
// inside the VM, window-change, and the shell's exit status.
func TestSSHInteractiveShell(t *testing.T) {
	s := startTest(t, "")
	c := newClient(t, s)
	vm := c.newRoot()
	c.must(200, "PUT", "/api/v1/env_vars", map[string]any{"vars": map[string]string{"FROM_ACCOUNT": "acct-val"}}, nil)
	sess, err := cliDial(t, s, c, vm).NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	modes := ssh.TerminalModes{ssh.ECHO: 1, ssh.TTY_OP_ISPEED: 14400, ssh.TTY_OP_OSPEED: 14400}
	if err := sess.RequestPty("xterm-256color", 24, 80, modes); err != nil {
		t.Fatalf("request PTY: %v", err)
	}
	stdin, _ := sess.StdinPipe()
	stdout, _ := sess.StdoutPipe()
	if err := sess.Shell(); err != nil {
		t.Fatalf("start shell: %v", err)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- strings.TrimRight(sc.Text(), "\r")
		}
		close(lines)
	}()
	waitFor := func(want string) {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("output ended before %q", want)
				}
				if l == want {
					return
				}
			case <-deadline:
				t.Fatalf("no line %q", want)
			}
		}
	}
	// Echoed input lines contain the command text, so each answer is
	// matched as a whole line that only the command's output can be.
	fmt.Fprintln(stdin, `echo "A:$(tty):$(stty size):$TERM:$FROM_ACCOUNT:$(pwd)"`)
	waitFor("A:/dev/pts/0:24 80:xterm-256color:acct-val:/root")
	if err := sess.WindowChange(40, 132); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	fmt.Fprintln(stdin, `echo "B:$(stty size)"`)
	waitFor("B:40 132")
	fmt.Fprintln(stdin, "exit 3")
	var exitErr *ssh.ExitError
	if err := sess.Wait(); !errors.As(err, &exitErr) || exitErr.ExitStatus() != 3 {
		t.Fatalf("shell ended with %v, want exit status 3", err)
	}
}

// `vers tunnel 18080:8080`: a direct-tcpip channel reaches a server on the
// VM's loopback; the host's loopback services stay unreachable.
func TestSSHTunnelReachesVMNotHost(t *testing.T) {
	s := startTest(t, "")
	c := newClient(t, s)
	vm := c.newRoot()
	c.execOK(vm, "mkdir -p /www && echo served-by-vm > /www/index.html && httpd -p 127.0.0.1:8080 -h /www")
	hostL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hostL.Close()
	go http.Serve(hostL, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "host-only") }))

	client := cliDial(t, s, c, vm)
	httpc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) { return client.Dial("tcp", addr) },
	}}
	var body string
	for i := 0; i < 50; i++ {
		resp, err := httpc.Get("http://localhost:8080/")
		if err != nil {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		break
	}
	if body != "served-by-vm\n" {
		t.Fatalf("GET through the tunnel = %q", body)
	}
	hostPort := hostL.Addr().(*net.TCPAddr).Port
	for _, addr := range []string{fmt.Sprintf("127.0.0.1:%d", hostPort), fmt.Sprintf("localhost:%d", hostPort)} {
		if conn, err := client.Dial("tcp", addr); err == nil {
			conn.Close()
			t.Fatalf("the tunnel reached the host's loopback service at %s", addr)
		}
	}
}
