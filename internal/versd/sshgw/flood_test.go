package sshgw

import (
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// A flood of idle TCP connections from one address is capped (the surplus
// is closed at once, so descriptors are not exhausted), and a legitimate
// session from another address still gets through.
func TestIdleConnectionFloodIsCapped(t *testing.T) {
	vm := newTestVM(t, "vma", t.TempDir())
	tg := startGateway(t, vm)
	var mu sync.Mutex
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 250 {
				c, err := net.DialTimeout("tcp", tg.addr, 2*time.Second)
				if err != nil {
					continue
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	time.Sleep(200 * time.Millisecond)
	total, handshaking := tg.gw.Open()
	if total > DefaultMaxHandshakesPer || handshaking > DefaultMaxHandshakesPer {
		t.Fatalf("after 2000 idle connections from one address the gateway holds %d (%d in handshake), cap %d",
			total, handshaking, DefaultMaxHandshakesPer)
	}

	// The legitimate client comes from 127.0.0.2 (loopback is a /8).
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 5 * time.Second}
	raw, err := d.Dial("tcp", tg.addr)
	if err != nil {
		t.Fatal(err)
	}
	host := vm.id + "." + testDomain
	tlsConn := tls.Client(raw, &tls.Config{RootCAs: tg.ca.CertPool(), ServerName: host})
	signer, err := ssh.ParsePrivateKey(vm.privatePEM)
	if err != nil {
		t.Fatal(err)
	}
	sc, chans, reqs, err := ssh.NewClientConn(tlsConn, host, &ssh.ClientConfig{
		User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: ssh.FixedHostKey(tg.hostKey), Timeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatalf("a legitimate session during the flood failed: %v", err)
	}
	client := ssh.NewClient(sc, chans, reqs)
	defer client.Close()
	s, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Output("hello")
	if err != nil || !strings.Contains(string(out), "out:hello") {
		t.Fatalf("command during the flood: %q %v", out, err)
	}
}

// Idle connections are closed when the handshake deadline passes.
func TestHandshakeDeadlineFreesTheSlot(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the handshake deadline")
	}
	vm := newTestVM(t, "vma", t.TempDir())
	tg := startGateway(t, vm)
	c, err := net.Dial("tcp", tg.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(handshakeTimeout + 5*time.Second))
	start := time.Now()
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("the gateway sent data to a client that never spoke TLS")
	}
	if d := time.Since(start); d > handshakeTimeout+2*time.Second {
		t.Fatalf("the idle connection lived %v, deadline %v", d, handshakeTimeout)
	}
}

// A burst of failures produces a bounded number of log lines and then one
// line that counts the rest.
func TestFailureLogIsRateLimited(t *testing.T) {
	var lines []string
	l := newRateLimitedLog(func(f string, a ...any) { lines = append(lines, fmt.Sprintf(f, a...)) }, 5, time.Hour)
	for i := range 21000 {
		l.printf("handshake %d failed", i)
	}
	if len(lines) != 5 {
		t.Fatalf("%d lines logged for 21000 failures in one window, want 5", len(lines))
	}
	l.windowStart = time.Time{} // next window
	l.printf("later")
	if len(lines) != 7 || !strings.Contains(lines[5], "20995 similar") {
		t.Fatalf("after the window: %q", lines[5:])
	}
}
