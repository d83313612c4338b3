// Package latencyproxy is a TCP proxy that adds a fixed round-trip time,
// so tests and benchmarks can measure the provider as users run it: tens
// of milliseconds from the Vers API and SSH gateway, not on loopback.
//
// Each direction of a connection is delayed by half the RTT. The delay is
// latency only, not a bandwidth limit: bytes keep being read while earlier
// ones wait, so a window-limited protocol sees exactly the added RTT.
package latencyproxy

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy forwards every connection accepted on its address to one target.
type Proxy struct {
	ln     net.Listener
	target string
	oneWay time.Duration

	up, down atomic.Int64 // bytes client→target, target→client

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// Start listens on listen ("127.0.0.1:0" for any free port) and forwards
// to target with rtt added to every round trip.
func Start(listen, target string, rtt time.Duration) (*Proxy, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, oneWay: rtt / 2, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// BytesUp is how many bytes went from clients to the target so far.
func (p *Proxy) BytesUp() int64 { return p.up.Load() }

// BytesDown is how many bytes went from the target to clients so far.
func (p *Proxy) BytesDown() int64 { return p.down.Load() }

// CutConnections closes every open connection at once, as a dropped
// network link would; new connections are still accepted.
func (p *Proxy) CutConnections() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

// Close stops accepting, cuts open connections and waits for the
// forwarding goroutines.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	err := p.ln.Close()
	p.CutConnections()
	p.wg.Wait()
	return err
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.serve(client)
	}
}

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	// The dial pays the added latency too: a TCP handshake is a round trip.
	time.Sleep(2 * p.oneWay)
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	if !p.track(client) || !p.track(server) {
		client.Close()
		server.Close()
		return
	}
	defer func() {
		client.Close()
		server.Close()
		p.untrack(client)
		p.untrack(server)
	}()
	var both sync.WaitGroup
	both.Add(2)
	go func() { defer both.Done(); p.forward(server, client, &p.up) }()
	go func() { defer both.Done(); p.forward(client, server, &p.down) }()
	both.Wait()
}

// chunk is data read at one moment, due for delivery at due.
type chunk struct {
	data []byte
	due  time.Time
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// forward copies src to dst, delivering each read oneWay after it arrived.
// Reading and writing run separately so the delay never throttles
// throughput. At src's EOF, dst gets a half-close; on an error both ends
// close, which ends the other direction too.
func (p *Proxy) forward(dst, src net.Conn, count *atomic.Int64) {
	queue := make(chan chunk, 1024)
	go func() {
		defer close(queue)
		for {
			bp := bufPool.Get().(*[]byte)
			n, err := src.Read(*bp)
			if n > 0 {
				queue <- chunk{data: (*bp)[:n], due: time.Now().Add(p.oneWay)}
			} else {
				bufPool.Put(bp)
			}
			if err != nil {
				if !errors.Is(err, io.EOF) {
					dst.Close()
				}
				return
			}
		}
	}()
	failed := false
	for c := range queue {
		if !failed {
			if d := time.Until(c.due); d > 0 {
				time.Sleep(d)
			}
			if _, err := dst.Write(c.data); err != nil {
				failed = true
				src.Close()
			} else {
				count.Add(int64(len(c.data)))
			}
		}
		b := c.data[:cap(c.data)]
		bufPool.Put(&b)
	}
	if tc, ok := dst.(*net.TCPConn); ok && !failed {
		_ = tc.CloseWrite()
	}
}
