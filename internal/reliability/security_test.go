package reliability

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

func newRootVM(t *testing.T, c *vers.Client) string {
	t.Helper()
	resp, err := c.CreateVMNewRoot(context.Background(), vers.NewRootRequest{}, true)
	if err != nil {
		t.Fatalf("new_root: %v", err)
	}
	return resp.VMID
}

func execIn(t *testing.T, c *vers.Client, vm, script string) *vers.ExecResponse {
	t.Helper()
	out, err := c.Exec(context.Background(), vm, vers.ExecRequest{Command: []string{"/bin/sh", "-c", script}})
	if err != nil {
		t.Fatalf("exec %q: %v", script, err)
	}
	return out
}

// hostSecret writes a file on the host that no VM may ever read.
func hostSecret(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "host-secret.txt")
	if err := os.WriteFile(p, []byte("HOST-ONLY-CONTENT"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAPIRejectsMissingAndWrongKeys sends each route family without a key,
// with a wrong key and with a malformed header: every answer is 401, the
// body never echoes a key, and nothing was changed.
func TestAPIRejectsMissingAndWrongKeys(t *testing.T) {
	s := startVersd(t, noFaults)
	c := client(t, endpointOf(s), 0)
	vm := newRootVM(t, c)
	routes := []struct{ method, path, body string }{
		{"GET", "/api/v1/vms", ""},
		{"POST", "/api/v1/vm/new_root", `{"vm_config":{}}`},
		{"POST", "/api/v1/vm/from_commit", `{"ref":"a:b"}`},
		{"POST", "/api/v1/vm/" + vm + "/branch", ""},
		{"POST", "/api/v1/vm/" + vm + "/commit", "{}"},
		{"DELETE", "/api/v1/vm/" + vm, ""},
		{"GET", "/api/v1/vm/" + vm + "/status", ""},
		{"GET", "/api/v1/vm/" + vm + "/ssh_key", ""},
		{"PATCH", "/api/v1/vm/" + vm + "/state", `{"state":"Paused"}`},
		{"POST", "/api/v1/vm/" + vm + "/exec", `{"command":["id"]}`},
		{"POST", "/api/v1/vm/" + vm + "/exec/stream", `{"command":["id"]}`},
		{"GET", "/api/v1/vm/" + vm + "/files?path=/etc/passwd", ""},
		{"PUT", "/api/v1/vm/" + vm + "/files", `{"path":"/x","content_b64":""}`},
		{"GET", "/api/v1/commits", ""},
		{"PATCH", "/api/v1/commits/" + vm, `{"is_public":true}`},
		{"GET", "/api/v1/commit_tags", ""},
		{"POST", "/api/v1/repositories", `{"name":"x"}`},
		{"GET", "/api/v1/repositories/x/tags", ""},
		{"GET", "/api/v1/public/repositories", ""},
		{"GET", "/api/v1/no-such-route", ""},
	}
	headers := map[string]string{
		"missing":      "",
		"wrong key":    "Bearer not-the-key",
		"key prefix":   "Bearer " + apiKey[:len(apiKey)-1],
		"basic scheme": "Basic " + apiKey,
		"bare key":     apiKey,
	}
	for _, rt := range routes {
		for name, h := range headers {
			req, _ := http.NewRequest(rt.method, s.URL+rt.path, strings.NewReader(rt.body))
			if h != "" {
				req.Header.Set("Authorization", h)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s %s (%s): %v", rt.method, rt.path, name, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s with %s key: status %d, want 401", rt.method, rt.path, name, resp.StatusCode)
			}
			if strings.Contains(string(body), apiKey[:12]) {
				t.Errorf("%s %s: the 401 body echoes the key: %s", rt.method, rt.path, body)
			}
		}
	}
	// Nothing above acted: the VM is still there and still running.
	st, err := c.GetVMStatus(context.Background(), vm)
	if err != nil || st.State != vers.VMStateRunning {
		t.Fatalf("after unauthenticated requests the VM must be untouched: %+v, %v", st, err)
	}
	if vms := countVMs(t, c); len(vms) != 1 {
		t.Fatalf("unauthenticated creates created VMs: %d listed", len(vms))
	}
}

// sshHandshake dials the gateway with SNI <vmID>.<domain> and tries to log
// in as root with signer.
func sshHandshake(ep endpoint, vmID string, signer ssh.Signer) error {
	host := vmID + "." + ep.VMDomain
	conn, err := tls.Dial("tcp", ep.SSHAddress, &tls.Config{ServerName: host, InsecureSkipVerify: true}) //nolint:gosec // test against loopback
	if err != nil {
		return err
	}
	defer conn.Close()
	sc, _, _, err := ssh.NewClientConn(conn, host, &ssh.ClientConfig{
		User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: ssh.InsecureIgnoreHostKey(), //nolint:gosec // test
	})
	if err == nil {
		sc.Close()
	}
	return err
}

// TestVMIsolation checks that one VM's key opens only that VM, and that
// SFTP, the files API and exec stay inside the VM's root.
func TestVMIsolation(t *testing.T) {
	s := startVersd(t, noFaults)
	ep := endpointOf(s)
	c := client(t, ep, 0)
	ctx := context.Background()
	vmA, vmB := newRootVM(t, c), newRootVM(t, c)
	secret := hostSecret(t)

	t.Run("ssh key opens only its VM", func(t *testing.T) {
		keyA, err := c.GetVMSSHKey(ctx, vmA)
		if err != nil {
			t.Fatal(err)
		}
		signerA, err := ssh.ParsePrivateKey([]byte(keyA.SSHPrivateKey))
		if err != nil {
			t.Fatal(err)
		}
		if err := sshHandshake(ep, vmA, signerA); err != nil {
			t.Fatalf("A's key must open A (control): %v", err)
		}
		if err := sshHandshake(ep, vmB, signerA); err == nil {
			t.Fatal("A's key opened VM B")
		}
		if err := sshHandshake(ep, "00000000-0000-4000-8000-000000000000", signerA); err == nil {
			t.Fatal("A's key opened a VM that does not exist")
		}
	})

	t.Run("sftp stays in the VM root", func(t *testing.T) {
		conn, err := c.DialSSH(ctx, vmA)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		sf, err := conn.SFTP()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{secret, "../../../../../../" + secret, "/root/../../../.." + secret} {
			if f, err := sf.Open(p); err == nil {
				data, _ := io.ReadAll(f)
				f.Close()
				if strings.Contains(string(data), "HOST-ONLY") {
					t.Fatalf("SFTP read the host file through %q", p)
				}
			}
		}
		// A symlink pointing at the host path resolves inside the VM, if at all.
		_ = sf.Symlink(secret, "/root/abs-link")
		_ = sf.Symlink("../../../../../../../.."+secret, "/root/rel-link")
		for _, p := range []string{"/root/abs-link", "/root/rel-link"} {
			if f, err := sf.Open(p); err == nil {
				data, _ := io.ReadAll(f)
				f.Close()
				if strings.Contains(string(data), "HOST-ONLY") {
					t.Fatalf("SFTP followed %s to the host", p)
				}
			}
		}
		// Writes through an escaping path land inside the VM or fail.
		if f, err := sf.Create("../../../../../../" + filepath.Dir(secret) + "/planted"); err == nil {
			f.Write([]byte("x"))
			f.Close()
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(secret), "planted")); err == nil {
			t.Fatal("SFTP wrote a file on the host")
		}
	})

	t.Run("files API stays in the VM root", func(t *testing.T) {
		execIn(t, c, vmA, "ln -sf "+secret+" /root/abs && ln -sf ../../../../../../../.."+secret+" /root/rel")
		for _, p := range []string{secret, "../../../../../../.." + secret, "/root/abs", "/root/rel"} {
			data, err := c.ReadFile(ctx, vmA, p)
			if err == nil && strings.Contains(string(data), "HOST-ONLY") {
				t.Fatalf("files API read the host file via %q", p)
			}
		}
		err := c.WriteFile(ctx, vmA, "../../../../../.."+filepath.Dir(secret)+"/planted-http", []byte("x"), vers.WriteFileOptions{})
		if _, statErr := os.Stat(filepath.Join(filepath.Dir(secret), "planted-http")); statErr == nil {
			t.Fatalf("files API wrote on the host (err=%v)", err)
		}
	})

	t.Run("exec cannot see the host", func(t *testing.T) {
		if r := execIn(t, c, vmA, "ls "+repoRoot); r.ExitCode == 0 {
			t.Fatalf("the repository checkout %s is visible inside the VM:\n%s", repoRoot, r.Stdout)
		}
		if r := execIn(t, c, vmA, "cat "+secret); r.ExitCode == 0 || strings.Contains(r.Stdout, "HOST-ONLY") {
			t.Fatalf("exec read the host file: %q", r.Stdout)
		}
		r := execIn(t, c, vmA, "ls /proc | grep -c '^[0-9]'")
		var n int
		for _, ch := range strings.TrimSpace(r.Stdout) {
			n = n*10 + int(ch-'0')
		}
		if r.ExitCode != 0 || n == 0 || n > 10 {
			t.Fatalf("/proc inside the VM lists %q pids (exit %d); a private PID namespace shows only a few", r.Stdout, r.ExitCode)
		}
		t.Logf("/proc in a VM lists %d pids", n)
		// B's files are not reachable from A.
		execIn(t, c, vmB, "echo only-in-b > /root/b.txt")
		if r := execIn(t, c, vmA, "cat /root/b.txt"); r.ExitCode == 0 {
			t.Fatalf("VM A sees VM B's file: %q", r.Stdout)
		}
	})
}
