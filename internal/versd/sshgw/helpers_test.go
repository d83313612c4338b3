package sshgw

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

const testDomain = "vm.test"

// testVM is one VM known to a test gateway: its target and the private key
// a client would fetch from GET /vm/{id}/ssh_key.
type testVM struct {
	id         string
	privatePEM []byte
	target     *VMTarget
}

// testGateway is a Gateway serving on 127.0.0.1:0 with its CA and host key.
type testGateway struct {
	gw       *Gateway
	addr     string
	ca       *Authority
	hostKey  ssh.PublicKey
	serveErr chan error

	mu      sync.Mutex
	lookups []string // every VM id Lookup was asked for
}

// fakeExec stands in for a sandbox: it echoes the command, env and stdin to
// stdout, writes a marker to stderr, fails with 7 for "fail" and is killed
// by KILL (core dumped) for "killed". A shell
// (empty command) reports its terminal, then each control event, until a
// TERM signal ends it with 143.
func fakeExec(ctx context.Context, p *Process) (ExitStatus, error) {
	if p.Command == "" {
		if p.TTY == nil {
			fmt.Fprintln(p.Stdout, "shell without terminal")
		} else {
			fmt.Fprintf(p.Stdout, "shell term=%s rows=%d cols=%d\n", p.TTY.Term, p.TTY.Rows, p.TTY.Cols)
		}
		for {
			select {
			case c := <-p.Control:
				if c.Resize != nil {
					fmt.Fprintf(p.Stdout, "resize rows=%d cols=%d\n", c.Resize.Rows, c.Resize.Cols)
				}
				if c.Signal != "" {
					fmt.Fprintf(p.Stdout, "signal %s\n", c.Signal)
					if c.Signal == "TERM" {
						return ExitStatus{Code: 143}, nil
					}
				}
			case <-ctx.Done():
				return ExitStatus{}, ctx.Err()
			}
		}
	}
	in, err := io.ReadAll(p.Stdin)
	if err != nil {
		return ExitStatus{}, err
	}
	for _, k := range slices.Sorted(maps.Keys(p.Env)) {
		fmt.Fprintf(p.Stdout, "env:%s=%s\n", k, p.Env[k])
	}
	fmt.Fprintf(p.Stdout, "out:%s\n%s", p.Command, in)
	fmt.Fprintf(p.Stderr, "err:%s", p.Command)
	if p.Command == "fail" {
		return ExitStatus{Code: 7}, nil
	}
	if p.Command == "killed" {
		return ExitStatus{Code: 128 + 9, Signal: "KILL", CoreDumped: true}, nil
	}
	if p.Command == "broken" {
		return ExitStatus{}, errors.New("sandbox unavailable")
	}
	return ExitStatus{}, nil
}

// inMemorySFTP stands in for a VM's SFTP server: pkg/sftp's in-memory
// filesystem behind a pipe.
func inMemorySFTP(ctx context.Context) (io.ReadWriteCloser, error) {
	client, server := net.Pipe()
	go func() {
		s := sftp.NewRequestServer(server, sftp.InMemHandler())
		_ = s.Serve()
		s.Close()
	}()
	return client, nil
}

func newTestVM(t testing.TB, id, _ string) *testVM {
	t.Helper()
	privatePEM, pub, err := NewVMKey()
	if err != nil {
		t.Fatal(err)
	}
	return &testVM{
		id:         id,
		privatePEM: privatePEM,
		target:     &VMTarget{AuthorizedKey: pub, SFTP: inMemorySFTP, Exec: fakeExec},
	}
}

func startGateway(t testing.TB, vms ...*testVM) *testGateway {
	t.Helper()
	ca, err := LoadOrCreateAuthority(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ServerCertificate(testDomain)
	if err != nil {
		t.Fatal(err)
	}
	hostKey, err := newHostKey()
	if err != nil {
		t.Fatal(err)
	}
	tg := &testGateway{ca: ca, hostKey: hostKey.PublicKey(), serveErr: make(chan error, 1)}
	byID := make(map[string]*VMTarget)
	for _, vm := range vms {
		byID[vm.id] = vm.target
	}
	gw, err := New(Options{
		TLSCert: cert,
		HostKey: hostKey,
		Domain:  testDomain,
		Lookup: func(id string) (*VMTarget, error) {
			tg.mu.Lock()
			tg.lookups = append(tg.lookups, id)
			tg.mu.Unlock()
			if target, ok := byID[id]; ok {
				return target, nil
			}
			return nil, errors.New("VM not found")
		},
		Logf: func(format string, args ...any) {
			msg := fmt.Sprintf(format, args...)
			if strings.Contains(msg, "PRIVATE KEY") {
				t.Errorf("log line leaks key material: %s", msg)
			}
			t.Log(msg)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tg.gw, tg.addr = gw, l.Addr().String()
	go func() { tg.serveErr <- gw.Serve(l) }()
	t.Cleanup(func() {
		if err := gw.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := <-tg.serveErr; err != nil {
			t.Errorf("Serve after Close: %v", err)
		}
	})
	return tg
}

func (tg *testGateway) lookedUp() []string {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return append([]string(nil), tg.lookups...)
}

// dialTLS opens TLS to the gateway with CA verification on. An empty or IP
// serverName sends no SNI.
func (tg *testGateway) dialTLS(serverName string) (*tls.Conn, error) {
	return tls.Dial("tcp", tg.addr, &tls.Config{RootCAs: tg.ca.CertPool(), ServerName: serverName})
}

// dialSSH connects as user with the given private key to the VM named by
// serverName, the way a Vers client does.
func (tg *testGateway) dialSSH(serverName, user string, privatePEM []byte) (*ssh.Client, error) {
	signer, err := ssh.ParsePrivateKey(privatePEM)
	if err != nil {
		return nil, err
	}
	tlsConn, err := tg.dialTLS(serverName)
	if err != nil {
		return nil, err
	}
	cfg := &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.FixedHostKey(tg.hostKey),
	}
	conn, chans, reqs, err := ssh.NewClientConn(tlsConn, serverName, cfg)
	if err != nil {
		tlsConn.Close()
		return nil, err
	}
	return ssh.NewClient(conn, chans, reqs), nil
}

// mustDial connects as root to vm and closes the client at cleanup.
func (tg *testGateway) mustDial(t testing.TB, vm *testVM) *ssh.Client {
	t.Helper()
	client, err := tg.dialSSH(vm.id+"."+testDomain, "root", vm.privatePEM)
	if err != nil {
		t.Fatalf("dial VM %s: %v", vm.id, err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

func (tg *testGateway) mustSFTP(t testing.TB, vm *testVM, opts ...sftp.ClientOption) *sftp.Client {
	t.Helper()
	client, err := sftp.NewClient(tg.mustDial(t, vm), opts...)
	if err != nil {
		t.Fatalf("sftp to VM %s: %v", vm.id, err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}
