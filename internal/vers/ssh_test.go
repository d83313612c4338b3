package vers

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestDialSSHRunsCommand(t *testing.T) {
	g := startSSHGateway(t)
	c, _ := sshTestClient(t, g, g.roots, false)
	conn, err := c.DialSSH(context.Background(), "vm1")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var stdout, stderr bytes.Buffer
	code, err := conn.Run(context.Background(), "read x; echo got:$x; echo oops >&2; exit 3",
		strings.NewReader("hello\n"), &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if code != 3 || stdout.String() != "got:hello\n" || stderr.String() != "oops\n" {
		t.Fatalf("code %d stdout %q stderr %q", code, stdout.String(), stderr.String())
	}
	g.mu.Lock()
	snis := append([]string(nil), g.snis...)
	g.mu.Unlock()
	if len(snis) != 1 || snis[0] != "vm1.vm.versd.localhost" {
		t.Fatalf("SNI %q, want vm1.vm.versd.localhost", snis)
	}
	// A second command on the same connection.
	code, err = conn.Run(context.Background(), "true", nil, nil, nil)
	if err != nil || code != 0 {
		t.Fatalf("true: %d %v", code, err)
	}
}

func TestDialSSHVerifiesTLSByDefault(t *testing.T) {
	g := startSSHGateway(t)
	c, _ := sshTestClient(t, g, x509.NewCertPool(), false) // trusts nothing
	if _, err := c.DialSSH(context.Background(), "vm1"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("err = %v, want a certificate error", err)
	}
	c, _ = sshTestClient(t, g, x509.NewCertPool(), true) // explicit opt-out
	conn, err := c.DialSSH(context.Background(), "vm1")
	if err != nil {
		t.Fatalf("insecure dial: %v", err)
	}
	conn.Close()
}

func TestDialSSHUnknownVM(t *testing.T) {
	g := startSSHGateway(t)
	c, _ := sshTestClient(t, g, g.roots, false)
	if _, err := c.DialSSH(context.Background(), "nope"); !IsNotFound(err) {
		t.Fatalf("err = %v, want not found", err)
	}
}

func TestDialSSHCancelledDuringHandshake(t *testing.T) {
	cert, roots := newTLSCert(t, "*.vm.versd.localhost")
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	handshaken := make(chan net.Conn, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		_ = conn.(*tls.Conn).Handshake() // TLS completes, SSH never starts
		handshaken <- conn
	}()
	g := &sshGateway{addr: ln.Addr().String(), keyPEM: startSSHGateway(t).keyPEM}
	c, _ := sshTestClient(t, g, roots, false)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.DialSSH(ctx, "vm1")
		done <- err
	}()
	conn := <-handshaken
	defer conn.Close()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("DialSSH did not return after cancellation")
	}
}

func TestRunCancelledCommand(t *testing.T) {
	g := startSSHGateway(t)
	c, _ := sshTestClient(t, g, g.roots, false)
	conn, err := c.DialSSH(context.Background(), "vm1")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout syncBuffer
	done := make(chan error, 1)
	go func() {
		_, err := conn.Run(ctx, "echo ready; exec sleep 30", nil, &stdout, nil)
		done <- err
	}()
	for !strings.Contains(stdout.String(), "ready") {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancellation")
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestSSHKeepalivesAreSent(t *testing.T) {
	g := startSSHGateway(t)
	c, _ := sshTestClient(t, g, g.roots, false)
	c.sshKeepalive = 5 * time.Millisecond
	conn, err := c.DialSSH(context.Background(), "vm1")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for g.keepalives.Load() < 3 {
		time.Sleep(5 * time.Millisecond)
	}
	// A refused keepalive (reply false) still proves the peer is alive.
	if code, err := conn.Run(context.Background(), "true", nil, nil, nil); err != nil || code != 0 {
		t.Fatalf("connection unusable after keepalives: %d %v", code, err)
	}
}
