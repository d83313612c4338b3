package versd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// The versd guide's OpenSSH recipe, run as written: ssh with a TLS proxy
// command (openssl s_client with SNI), a forced terminal, and a port
// forward. make test installs ssh and openssl (scripts/ensure-deps.sh), so
// there a missing one fails; a plain `go test` without them skips.
func TestOpenSSHThroughTLSProxyCommand(t *testing.T) {
	for _, bin := range []string{"ssh", "openssl"} {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv("TF_ACC") != "" {
				t.Fatalf("%s not installed; make deps installs it", bin)
			}
			t.Skipf("%s not installed", bin)
		}
	}
	s := startTest(t, "")
	c := newClient(t, s)
	vm := c.newRoot()
	var key vers.SSHKeyResponse
	c.must(200, "GET", "/api/v1/vm/"+vm+"/ssh_key", nil, &key)
	keyFile := filepath.Join(t.TempDir(), "vm_key")
	if err := os.WriteFile(keyFile, []byte(key.SSHPrivateKey), 0o600); err != nil {
		t.Fatal(err)
	}
	sshArgs := func(extra ...string) []string {
		args := []string{
			"-F", "/dev/null", "-i", keyFile, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
			"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
			"-o", "ProxyCommand=openssl s_client -quiet -verify_quiet -verify_return_error -CAfile " + s.CAFile + " -connect " + s.SSHAddress + " -servername %h",
		}
		return append(append(args, extra...), "root@"+vm+"."+s.VMDomain)
	}
	// -tt forces a terminal even though the test's stdin is not one.
	cmd := exec.Command("ssh", append(sshArgs("-tt"), "tty; stty size; exit 4")...)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 4 {
		t.Fatalf("ssh -tt: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "/dev/pts/") {
		t.Fatalf("ssh -tt got no terminal:\n%s", out)
	}
	out, err = exec.Command("ssh", append(sshArgs(), "echo plain")...).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "plain" {
		t.Fatalf("ssh exec: %v\n%s", err, out)
	}
}
