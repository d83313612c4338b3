package latencyproxy

import (
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"testing"
	"time"
)

// echoServer answers every connection by echoing it back.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

func start(t *testing.T, target string, rtt time.Duration) *Proxy {
	t.Helper()
	p, err := Start("127.0.0.1:0", target, rtt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestRoundTripsPayTheRTT(t *testing.T) {
	const rtt = 40 * time.Millisecond
	p := start(t, echoServer(t), rtt)
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 1)
	const trips = 5
	begin := time.Now()
	for i := 0; i < trips; i++ {
		if _, err := c.Write([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil || buf[0] != byte(i) {
			t.Fatalf("echo %d: got %v, %v", i, buf, err)
		}
	}
	// trips round trips plus one for the connection set-up.
	elapsed := time.Since(begin)
	if elapsed < trips*rtt || elapsed > (trips+1)*rtt+200*time.Millisecond {
		t.Fatalf("%d round trips took %v at RTT %v", trips, elapsed, rtt)
	}
}

// echoThrough sends payload through a proxy adding rtt to an echo server
// and returns how long the echo took and what came back.
func echoThrough(t *testing.T, target string, rtt time.Duration, payload []byte) (time.Duration, *Proxy) {
	t.Helper()
	p := start(t, target, rtt)
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := make(chan []byte, 1)
	go func() { b, _ := io.ReadAll(c); got <- b }()
	begin := time.Now()
	if _, err := c.Write(payload); err != nil {
		t.Fatal(err)
	}
	_ = c.(*net.TCPConn).CloseWrite()
	echoed := <-got
	elapsed := time.Since(begin)
	if !bytes.Equal(echoed, payload) {
		t.Fatalf("echoed %d bytes, not the %d sent", len(echoed), len(payload))
	}
	return elapsed, p
}

func TestLatencyIsNotABandwidthLimit(t *testing.T) {
	const rtt = 200 * time.Millisecond
	target := echoServer(t)
	payload := make([]byte, 16<<20)
	_, _ = rand.Read(payload)
	base, _ := echoThrough(t, target, 0, payload)
	far, p := echoThrough(t, target, rtt, payload)
	// The delay must add a couple of RTTs, not one per chunk: a
	// stop-and-wait proxy would add 64 × 200 ms here. Compared with the
	// same transfer at RTT 0 so a loaded machine does not fail it.
	if extra := far - base; extra > 15*rtt {
		t.Fatalf("16 MiB took %v at RTT %v and %v at 0: %v extra", far, rtt, base, extra)
	}
	if p.BytesUp() != int64(len(payload)) || p.BytesDown() != int64(len(payload)) {
		t.Fatalf("counted %d up, %d down", p.BytesUp(), p.BytesDown())
	}
}

func TestCutConnectionsDropsOpenLinks(t *testing.T) {
	p := start(t, echoServer(t), 0)
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	p.CutConnections()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(buf); err == nil {
		t.Fatal("read on a cut connection succeeded")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the cut connection stayed open")
	}
	// New connections still work.
	c2, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := c2.Write([]byte("y")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c2, buf); err != nil || buf[0] != 'y' {
		t.Fatalf("after a cut: %q, %v", buf, err)
	}
}
