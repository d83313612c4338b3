package sshgw

import (
	"context"
	"io"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// forwardDialTimeout bounds connecting to the target inside the VM.
const forwardDialTimeout = 15 * time.Second

// directTCPIP is the payload of a "direct-tcpip" channel open (RFC 4254
// §7.2): where to connect, and where the client's connection came from.
type directTCPIP struct {
	Host       string
	Port       uint32
	OriginHost string
	OriginPort uint32
}

// forward serves one direct-tcpip channel (`ssh -L`, `vers tunnel`). The
// connection is made by the VM, from inside its own network namespace, so
// "localhost" is the VM's loopback and the host's services stay out of reach.
func (g *Gateway) forward(ctx context.Context, target *VMTarget, vmID, remote string, newCh ssh.NewChannel) {
	var p directTCPIP
	if err := ssh.Unmarshal(newCh.ExtraData(), &p); err != nil || p.Port == 0 || p.Port > 65535 {
		_ = newCh.Reject(ssh.ConnectionFailed, "malformed direct-tcpip request")
		return
	}
	dialCtx, cancel := context.WithTimeout(ctx, forwardDialTimeout)
	conn, err := target.Dial(dialCtx, p.Host, int(p.Port))
	cancel()
	if err != nil {
		g.logf("sshgw: %s: VM %s: forward to port %d failed: %v", remote, vmID, p.Port, err)
		_ = newCh.Reject(ssh.ConnectionFailed, err.Error())
		return
	}
	ch, reqs, err := newCh.Accept()
	if err != nil {
		conn.Close()
		return
	}
	go ssh.DiscardRequests(reqs)
	stop := context.AfterFunc(ctx, func() { conn.Close(); ch.Close() })
	defer stop()
	relay(ch, conn)
}

// relay copies both ways, passing each side's EOF on as a half-close so
// request/response protocols finish, and returns when both directions are
// done.
func relay(ch ssh.Channel, conn net.Conn) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		_, _ = io.Copy(ch, conn)
		_ = ch.CloseWrite()
	}()
	go func() {
		defer wg.Done()
		_, _ = io.Copy(conn, ch)
		if tc, ok := conn.(interface{ CloseWrite() error }); ok {
			_ = tc.CloseWrite()
		} else {
			conn.Close()
		}
	}()
	wg.Wait()
	conn.Close()
	ch.Close()
}
