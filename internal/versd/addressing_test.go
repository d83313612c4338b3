package versd

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// cliVMHost reproduces how the official CLI names a VM's SSH endpoint: the
// API host api.X gives <vm>.vm.X, anything else <vm>.vm.vers.sh, always on
// port 443.
func cliVMHost(versURL, vmID string) (string, error) {
	u, err := url.Parse(versURL)
	if err != nil {
		return "", err
	}
	domain := "vm.vers.sh"
	if rest, ok := strings.CutPrefix(u.Hostname(), "api."); ok {
		domain = "vm." + rest
	}
	return vmID + "." + domain, nil
}

// exportValue reads NAME's value from EnvExports output.
func exportValue(t *testing.T, exports, name string) string {
	t.Helper()
	for _, line := range strings.Split(exports, "\n") {
		if v, ok := strings.CutPrefix(line, "export "+name+"="); ok {
			return strings.Trim(v, "'")
		}
	}
	t.Fatalf("no %s in exports:\n%s", name, exports)
	return ""
}

// lookupHosts resolves name through a hosts file the way the C library does.
func lookupHosts(t *testing.T, path, name string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		for _, n := range fields[min(1, len(fields)):] {
			if strings.EqualFold(n, name) {
				return fields[0]
			}
		}
	}
	return ""
}

// With APIHost and a managed hosts file, the VERS_URL versd prints makes the
// unmodified CLI derive a VM host name that resolves to loopback, that the
// gateway's certificate covers, and whose SNI opens that VM. Entries follow
// the VMs and leave with versd; other lines stay as they were.
func TestOfficialCLIAddressing(t *testing.T) {
	hosts := filepath.Join(t.TempDir(), "hosts")
	userLines := "127.0.0.1\tlocalhost\n# a comment the user wrote\n10.1.2.3\tbuildbox\n"
	if err := os.WriteFile(hosts, []byte(userLines), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startTest(t, "", func(o *Options) { o.APIHost = "api.versd.localhost"; o.HostsFile = hosts })
	c := newClient(t, s)
	vm := c.newRoot()

	versURL := exportValue(t, s.EnvExports(), "VERS_URL")
	if _, port, _ := net.SplitHostPort(strings.TrimPrefix(s.URL, "http://")); versURL != "http://api.versd.localhost:"+port {
		t.Fatalf("VERS_URL = %q", versURL)
	}
	host, err := cliVMHost(versURL, vm)
	if err != nil {
		t.Fatal(err)
	}
	if host != vm+"."+s.VMDomain {
		t.Fatalf("the CLI derives %q, the gateway serves *.%s", host, s.VMDomain)
	}
	if ip := lookupHosts(t, hosts, host); ip != "127.0.0.1" {
		t.Fatalf("%s resolves to %q through the hosts file", host, ip)
	}
	if ip := lookupHosts(t, hosts, "api.versd.localhost"); ip != "127.0.0.1" {
		t.Fatalf("the API host resolves to %q", ip)
	}

	// TLS as the CLI does it (SNI = derived name), here also verified
	// against versd's CA, then SSH with the VM's key.
	caPEM, _ := os.ReadFile(s.CAFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	conn, err := tls.Dial("tcp", s.SSHAddress, &tls.Config{ServerName: host, RootCAs: pool})
	if err != nil {
		t.Fatalf("TLS with SNI %s: %v", host, err)
	}
	var key vers.SSHKeyResponse
	c.must(200, "GET", "/api/v1/vm/"+vm+"/ssh_key", nil, &key)
	signer, _ := ssh.ParsePrivateKey([]byte(key.SSHPrivateKey))
	sc, chans, reqs, err := ssh.NewClientConn(conn, host, &ssh.ClientConfig{User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: ssh.InsecureIgnoreHostKey()})
	if err != nil {
		t.Fatal(err)
	}
	client := ssh.NewClient(sc, chans, reqs)
	sess, _ := client.NewSession()
	out, err := sess.Output("hostname")
	client.Close()
	if err != nil || strings.TrimSpace(string(out)) != vm {
		t.Fatalf("ssh hostname = %q, %v", out, err)
	}

	c.must(200, "DELETE", "/api/v1/vm/"+vm, nil, nil)
	if ip := lookupHosts(t, hosts, host); ip != "" {
		t.Fatalf("deleted VM still in the hosts file (%s)", ip)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(hosts); string(got) != userLines {
		t.Fatalf("after Close the hosts file is\n%s\nwant the user's lines only:\n%s", got, userLines)
	}
}

// Without an api.* host the CLI falls back to the production domain, which
// is why the official-CLI mode exists.
func TestCLIDerivationWithoutAPIHost(t *testing.T) {
	host, _ := cliVMHost("http://127.0.0.1:8787", "abc")
	if host != "abc.vm.vers.sh" {
		t.Fatalf("derived %q", host)
	}
}
