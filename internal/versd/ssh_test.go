package versd

import (
	"crypto/tls"
	"crypto/x509"
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
