package versd

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vers-sh/terraform-provider-vers/internal/latencyproxy"
)

// benchRTT is the round trip the "wan" variants add between client and
// gateway, a typical distance to a Vers region.
const benchRTT = 20 * time.Millisecond

// gatewayAddr returns the gateway's address, or a latency proxy's in front
// of it when rtt > 0.
func gatewayAddr(b *testing.B, s *Server, rtt time.Duration) string {
	b.Helper()
	if rtt == 0 {
		return s.SSHAddress
	}
	p, err := latencyproxy.Start("127.0.0.1:0", s.SSHAddress, rtt)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close() })
	return p.Addr()
}

// BenchmarkTunnelThroughput downloads a 64 MiB file from an HTTP server on
// the VM's loopback: through an SSH direct-tcpip tunnel (what `vers tunnel`
// uses), on loopback and with benchRTT added, next to a plain connection
// from the VM's network namespace without SSH and TLS (the floor).
func BenchmarkTunnelThroughput(b *testing.B) {
	const size = 64 << 20
	s := startTest(b, "", func(o *Options) { o.Logf = func(string, ...any) {} })
	c := newClient(b, s)
	vm := c.newRoot()
	c.execOK(vm, fmt.Sprintf("mkdir -p /www && head -c %d /dev/urandom > /www/blob && httpd -p 127.0.0.1:8080 -h /www", size))

	get := func(b *testing.B, dial func(ctx context.Context, network, addr string) (net.Conn, error)) {
		hc := &http.Client{Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true}}
		b.SetBytes(size)
		for b.Loop() {
			resp, err := hc.Get("http://localhost:8080/blob")
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || n != size {
				b.Fatalf("read %d bytes: %v", n, err)
			}
		}
	}
	b.Run("direct-from-vm-netns", func(b *testing.B) {
		get(b, func(ctx context.Context, _, _ string) (net.Conn, error) {
			return s.vms.Dial(ctx, vm, "localhost", 8080)
		})
	})
	for _, rtt := range []time.Duration{0, benchRTT} {
		b.Run(fmt.Sprintf("ssh-tunnel-rtt=%v", rtt), func(b *testing.B) {
			client := cliDialVia(b, s, c, vm, gatewayAddr(b, s, rtt))
			get(b, func(_ context.Context, network, addr string) (net.Conn, error) { return client.Dial(network, addr) })
		})
	}
}

// BenchmarkTerminalRoundTrip measures a keystroke's round trip in `vers
// connect`: one byte typed into an interactive shell on a terminal inside
// the VM until its echo arrives, on loopback and with benchRTT added. The
// p50 minus the added RTT is versd's own share.
func BenchmarkTerminalRoundTrip(b *testing.B) {
	s := startTest(b, "", func(o *Options) { o.Logf = func(string, ...any) {} })
	c := newClient(b, s)
	vm := c.newRoot()
	for _, rtt := range []time.Duration{0, benchRTT} {
		b.Run(fmt.Sprintf("rtt=%v", rtt), func(b *testing.B) {
			sess, err := cliDialVia(b, s, c, vm, gatewayAddr(b, s, rtt)).NewSession()
			if err != nil {
				b.Fatal(err)
			}
			defer sess.Close()
			if err := sess.RequestPty("xterm-256color", 24, 80, ssh.TerminalModes{ssh.ECHO: 1}); err != nil {
				b.Fatal(err)
			}
			stdin, _ := sess.StdinPipe()
			stdout, _ := sess.StdoutPipe()
			if err := sess.Shell(); err != nil {
				b.Fatal(err)
			}
			// Wait until the shell runs commands: the echoed input holds
			// "40+2", only the command's output holds "42".
			fmt.Fprintln(stdin, "echo $((40+2))")
			if err := readUntil(stdout, "42"); err != nil {
				b.Fatal(err)
			}
			samples := make([]time.Duration, 0, b.N)
			buf := make([]byte, 256)
			b.ResetTimer()
			for b.Loop() {
				start := time.Now()
				if _, err := stdin.Write([]byte("x")); err != nil {
					b.Fatal(err)
				}
				for got := false; !got; {
					n, err := stdout.Read(buf)
					if err != nil {
						b.Fatal(err)
					}
					for _, ch := range buf[:n] {
						got = got || ch == 'x'
					}
				}
				samples = append(samples, time.Since(start))
			}
			b.StopTimer()
			percentiles(b, samples)
		})
	}
}

func readUntil(r io.Reader, marker string) error {
	var seen []byte
	buf := make([]byte, 4096)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		n, err := r.Read(buf)
		seen = append(seen, buf[:n]...)
		if strings.Contains(string(seen), marker) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return fmt.Errorf("no %q in output %q", marker, seen)
}
