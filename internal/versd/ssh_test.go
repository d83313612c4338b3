package versd

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// sshRun dials the gateway as the official CLI does (TLS with SNI
// <vm>.<domain>, then SSH as root) and runs a command.
func sshRun(t *testing.T, s *Server, vmID, keyPEM, command string) (string, error) {
	t.Helper()
	caPEM, err := os.ReadFile(s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("CA file holds no certificate")
	}
	conn, err := tls.Dial("tcp", s.SSHAddress, &tls.Config{ServerName: vmID + "." + s.VMDomain, RootCAs: pool})
	if err != nil {
		t.Fatalf("TLS to the gateway (verified against %s): %v", s.CAFile, err)
	}
	defer conn.Close()
	signer, err := ssh.ParsePrivateKey([]byte(keyPEM))
	if err != nil {
		t.Fatal(err)
	}
	sc, chans, reqs, err := ssh.NewClientConn(conn, vmID, &ssh.ClientConfig{
		User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: ssh.InsecureIgnoreHostKey(),
	})
	if err != nil {
		return "", err
	}
	client := ssh.NewClient(sc, chans, reqs)
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		return "", err
	}
	defer sess.Close()
	out, err := sess.Output(command)
	return string(out), err
}

func TestSSHGatewayUsesTheVMKey(t *testing.T) {
	s := startTest(t, "")
	c := newClient(t, s)
	a, b := c.newRoot(), c.newRoot()
	c.execOK(a, "echo only-in-a > /root/f")
	var keyA, keyB vers.SSHKeyResponse
	c.must(200, "GET", "/api/v1/vm/"+a+"/ssh_key", nil, &keyA)
	c.must(200, "GET", "/api/v1/vm/"+b+"/ssh_key", nil, &keyB)
	out, err := sshRun(t, s, a, keyA.SSHPrivateKey, "cat /root/f")
	if err != nil || out != "only-in-a\n" {
		t.Fatalf("ssh exec in A: %q, %v", out, err)
	}
	if _, err := sshRun(t, s, a, keyB.SSHPrivateKey, "true"); err == nil {
		t.Fatal("VM B's key opened VM A")
	}
}

// A paused VM refuses SSH at once instead of leaving the client hanging;
// resuming it lets the same key in again.
func TestSSHRefusesPausedVM(t *testing.T) {
	s := startTest(t, "")
	c := newClient(t, s)
	vm := c.newRoot()
	var key vers.SSHKeyResponse
	c.must(200, "GET", "/api/v1/vm/"+vm+"/ssh_key", nil, &key)
	c.must(204, "PATCH", "/api/v1/vm/"+vm+"/state", map[string]any{"state": "Paused"}, nil)
	if _, err := sshRun(t, s, vm, key.SSHPrivateKey, "true"); err == nil {
		t.Fatal("a paused VM accepted an SSH session")
	}
	c.must(204, "PATCH", "/api/v1/vm/"+vm+"/state", map[string]any{"state": "Running"}, nil)
	if out, err := sshRun(t, s, vm, key.SSHPrivateKey, "echo back"); err != nil || out != "back\n" {
		t.Fatalf("after resume: %q, %v", out, err)
	}
}

// A command killed by a signal ends its SSH session with exit-signal
// (RFC 4254 §6.10), as OpenSSH's server does; one that exits with 137 by
// itself still gets exit-status 137. The exec API, which has exit codes
// only, reports the signal as 128+n.
func TestSSHSignalledCommandSendsExitSignal(t *testing.T) {
	s := startTest(t, "")
	c := newClient(t, s)
	vm := c.newRoot()
	var key vers.SSHKeyResponse
	c.must(200, "GET", "/api/v1/vm/"+vm+"/ssh_key", nil, &key)

	_, err := sshRun(t, s, vm, key.SSHPrivateKey, "kill -KILL $$")
	var exitErr *ssh.ExitError
	if !errors.As(err, &exitErr) || exitErr.Signal() != "KILL" {
		t.Fatalf("kill -KILL $$ over SSH: %v, want exit-signal KILL", err)
	}
	_, err = sshRun(t, s, vm, key.SSHPrivateKey, "exit 137")
	if !errors.As(err, &exitErr) || exitErr.Signal() != "" || exitErr.ExitStatus() != 137 {
		t.Fatalf("exit 137 over SSH: %v, want exit-status 137 and no signal", err)
	}

	var out vers.ExecResponse
	c.must(200, "POST", "/api/v1/vm/"+vm+"/exec", map[string]any{"command": []string{"sh", "-c", "kill -KILL $$"}}, &out)
	if out.ExitCode != 128+9 {
		t.Fatalf("exec API: exit code %d, want 137", out.ExitCode)
	}
}
