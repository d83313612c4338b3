package vers

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// sshGateway is a tiny SSH-over-TLS server like versd's gateway: TLS with a
// certificate for *.vm.versd.localhost, then SSH accepting one VM key, serving
// "exec" through sh and the "sftp" subsystem on the real filesystem.
type sshGateway struct {
	addr    string
	roots   *x509.CertPool
	keyPEM  string
	mu      sync.Mutex
	snis    []string
	clients sync.WaitGroup
	// keepalives counts keepalive@openssh.com global requests.
	keepalives atomic.Int32
}

func newTLSCert(t *testing.T, dnsName string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test gateway"},
		DNSNames:              []string{dnsName},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv, Leaf: leaf}, pool
}

func startSSHGateway(t *testing.T) *sshGateway {
	t.Helper()
	cert, roots := newTLSCert(t, "*.vm.versd.localhost")
	_, vmPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(vmPriv, "")
	if err != nil {
		t.Fatal(err)
	}
	vmSigner, err := ssh.NewSignerFromKey(vmPriv)
	if err != nil {
		t.Fatal(err)
	}
	_, hostPriv, _ := ed25519.GenerateKey(rand.Reader)
	hostSigner, _ := ssh.NewSignerFromKey(hostPriv)

	g := &sshGateway{roots: roots, keyPEM: string(pem.EncodeToMemory(block))}
	conf := &ssh.ServerConfig{
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if meta.User() == "root" && bytes.Equal(key.Marshal(), vmSigner.PublicKey().Marshal()) {
				return nil, nil
			}
			return nil, errors.New("unknown key")
		},
	}
	conf.AddHostKey(hostSigner)

	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{cert},
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			g.mu.Lock()
			g.snis = append(g.snis, hello.ServerName)
			g.mu.Unlock()
			return nil, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	g.addr = ln.Addr().String()
	t.Cleanup(func() { ln.Close(); g.clients.Wait() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			g.clients.Add(1)
			go func() {
				defer g.clients.Done()
				g.serve(t, conn, conf)
			}()
		}
	}()
	return g
}

func (g *sshGateway) serve(t *testing.T, conn net.Conn, conf *ssh.ServerConfig) {
	defer conn.Close()
	sconn, chans, reqs, err := ssh.NewServerConn(conn, conf)
	if err != nil {
		return
	}
	defer sconn.Close()
	go func() {
		for req := range reqs {
			if req.Type == "keepalive@openssh.com" {
				g.keepalives.Add(1)
			}
			if req.WantReply {
				_ = req.Reply(false, nil) // what OpenSSH answers too
			}
		}
	}()
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			return
		}
		go g.session(t, ch, chReqs)
	}
}

func (g *sshGateway) session(t *testing.T, ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	for req := range reqs {
		switch req.Type {
		case "exec":
			var payload struct{ Command string }
			if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
				_ = req.Reply(false, nil)
				continue
			}
			_ = req.Reply(true, nil)
			cmd := exec.Command("sh", "-c", payload.Command)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = ch, ch, ch.Stderr()
			status := uint32(0)
			if err := cmd.Run(); err != nil {
				var exitErr *exec.ExitError
				if !errors.As(err, &exitErr) {
					t.Errorf("gateway exec: %v", err)
				}
				status = uint32(exitErr.ExitCode())
			}
			_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
			return
		case "subsystem":
			var payload struct{ Name string }
			if ssh.Unmarshal(req.Payload, &payload) != nil || payload.Name != "sftp" {
				_ = req.Reply(false, nil)
				continue
			}
			_ = req.Reply(true, nil)
			srv, err := sftp.NewServer(ch)
			if err != nil {
				t.Errorf("sftp server: %v", err)
				return
			}
			_ = srv.Serve()
			return
		default:
			_ = req.Reply(false, nil)
		}
	}
}

// sshTestClient is a client whose API serves the gateway's key for vm1 and
// whose SSH connections go to the gateway.
func sshTestClient(t *testing.T, g *sshGateway, roots *x509.CertPool, insecure bool) (*Client, *logCapture) {
	t.Helper()
	env := newTestEnv(t, 0, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/vm/vm1/ssh_key" {
			writeJSON(w, http.StatusNotFound, `{"error":"VM not found"}`)
			return
		}
		writeJSON(w, http.StatusOK, `{"ssh_port":22,"ssh_private_key":`+jsonString(g.keyPEM)+`}`)
	})
	env.client.sshAddress = g.addr
	env.client.sshRootCAs = roots
	env.client.sshInsecure = insecure
	t.Cleanup(func() {
		for _, line := range env.logs.all() {
			if strings.Contains(line, "PRIVATE KEY") {
				t.Errorf("a log line contains the SSH key: %q", line)
			}
		}
	})
	return env.client, env.logs
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '\n':
			b.WriteString(`\n`)
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
