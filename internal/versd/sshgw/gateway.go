package sshgw

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// handshakeTimeout bounds the TLS and SSH handshakes together, so a client
// that connects and says nothing cannot hold a connection open.
const handshakeTimeout = 10 * time.Second

// Connection caps (Options fields of the same names override them). A flood
// of idle connections used to exhaust versd's file descriptors, which took
// the HTTP API down with the gateway.
const (
	DefaultMaxConns         = 1024 // open connections in total
	DefaultMaxConnsPerIP    = 64   // open connections from one source address
	DefaultMaxHandshakes    = 128  // connections not yet authenticated, in total
	DefaultMaxHandshakesPer = 16   // connections not yet authenticated, per source
)

// VMTarget is what the gateway needs to know about one VM.
type VMTarget struct {
	// AuthorizedKey is the only key that opens this VM (user root).
	AuthorizedKey ssh.PublicKey
	// SFTP opens an SFTP server running inside the VM, with the VM's own
	// privileges; the gateway only forwards the subsystem's bytes to it.
	// The stream ends when the VM stops, which ends the session.
	SFTP func(ctx context.Context) (io.ReadWriteCloser, error)
	// Exec runs a process in the VM and returns its exit code. It must
	// return once ctx is done.
	Exec func(ctx context.Context, p *Process) (ExitStatus, error)
	// Dial connects to host:port from inside the VM's own network
	// namespace (direct-tcpip, `ssh -L`). nil refuses port forwarding.
	Dial func(ctx context.Context, host string, port int) (net.Conn, error)
}

// Process is one command of an SSH session.
type Process struct {
	// Command runs through `sh -c`; empty means an interactive login shell
	// (the "shell" request).
	Command string
	// Env holds the client's env requests.
	Env map[string]string
	// TTY is set after a pty-req: the process runs on a terminal inside the
	// VM, and its output (stdout and stderr) goes to Stdout.
	TTY *Terminal
	// Stdin, Stdout and Stderr are the channel's streams.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Control carries window-change and signal requests while it runs.
	Control <-chan Control
}

// Terminal is the terminal a pty-req asked for.
type Terminal struct {
	Term       string
	Rows, Cols uint32
}

// Control is a window-change (Resize) or a signal request (Signal, a name
// without "SIG" such as "INT", as RFC 4254 sends it).
type Control struct {
	Resize *Terminal
	Signal string
}

// ExitStatus is how a session's command ended: an exit code, or the
// signal that killed it, which the session reports as RFC 4254 §6.10
// exit-signal (OpenSSH does the same) so a client can tell `kill -9` from
// `exit 137`.
type ExitStatus struct {
	Code int
	// Signal is the signal's name without "SIG" ("KILL"); "" when the
	// command exited.
	Signal     string
	CoreDumped bool
}

// VMLookup resolves a VM id taken from the SNI name. An error rejects the
// connection.
type VMLookup func(vmID string) (*VMTarget, error)

// Options configures a Gateway.
type Options struct {
	// TLSCert is the gateway's TLS certificate, normally from
	// Authority.ServerCertificate.
	TLSCert tls.Certificate
	// HostKey is the SSH host key; nil generates an ed25519 key.
	HostKey ssh.Signer
	// Lookup resolves VM ids. Required.
	Lookup VMLookup
	// Domain, when set, is the only domain accepted: the SNI name must be
	// exactly <vm_id>.<Domain>, or the connection ends before SSH.
	Domain string
	// Logf receives connection events; nil discards them. Keys are never
	// logged. Refusals and handshake failures are rate-limited.
	Logf func(string, ...any)
	// Connection caps; 0 means the Default of the same name.
	MaxConns, MaxConnsPerIP, MaxHandshakes, MaxHandshakesPerIP int
}

// Gateway serves SSH inside TLS, one VM per connection chosen by SNI.
type Gateway struct {
	tlsConfig *tls.Config
	hostKey   ssh.Signer
	lookup    VMLookup
	domain    string
	logf      func(string, ...any)

	// ctx is cancelled by Close; running commands watch it.
	ctx    context.Context
	cancel context.CancelFunc

	limits  connLimits
	failLog *rateLimitedLog

	mu        sync.Mutex
	closed    bool
	perIP     map[string]*ipCount
	total     int
	handshake int
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{}
	// byVM groups live connections by VM so DisconnectVM can end them when
	// the VM's root filesystem changes under them (commit, delete).
	byVM map[string]map[net.Conn]struct{}
	// wg counts connection handlers and the goroutines they start, so Close
	// returns only when nothing of the gateway still runs.
	wg sync.WaitGroup
}

// New checks opts and returns a Gateway ready to Serve.
func New(opts Options) (*Gateway, error) {
	if opts.Lookup == nil {
		return nil, errors.New("sshgw: Options.Lookup is required")
	}
	if len(opts.TLSCert.Certificate) == 0 || opts.TLSCert.PrivateKey == nil {
		return nil, errors.New("sshgw: Options.TLSCert has no certificate or key")
	}
	hostKey := opts.HostKey
	if hostKey == nil {
		var err error
		if hostKey, err = newHostKey(); err != nil {
			return nil, err
		}
	}
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Gateway{
		limits: connLimits{
			total: orDefault(opts.MaxConns, DefaultMaxConns), perIP: orDefault(opts.MaxConnsPerIP, DefaultMaxConnsPerIP),
			handshakes: orDefault(opts.MaxHandshakes, DefaultMaxHandshakes), handshakesPerIP: orDefault(opts.MaxHandshakesPerIP, DefaultMaxHandshakesPer),
		},
		failLog: newRateLimitedLog(logf, 5, time.Second),
		perIP:   make(map[string]*ipCount),
		tlsConfig: &tls.Config{
			Certificates: []tls.Certificate{opts.TLSCert},
			MinVersion:   tls.VersionTLS12,
		},
		hostKey:   hostKey,
		lookup:    opts.Lookup,
		domain:    strings.TrimSuffix(strings.TrimPrefix(opts.Domain, "."), "."),
		logf:      logf,
		ctx:       ctx,
		cancel:    cancel,
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[net.Conn]struct{}),
		byVM:      make(map[string]map[net.Conn]struct{}),
	}, nil
}

// Serve accepts connections on l until Close is called, then returns nil.
// Any other listener failure is returned. Serve may run on several
// listeners at once.
func (g *Gateway) Serve(l net.Listener) error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		l.Close()
		return nil
	}
	g.listeners[l] = struct{}{}
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.listeners, l)
		g.mu.Unlock()
	}()

	var backoff time.Duration
	for {
		conn, err := l.Accept()
		if err != nil {
			if g.isClosed() {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Transient failures such as running out of file descriptors:
			// wait a little and keep serving, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			g.logf("sshgw: accept: %v; retrying in %v", err, backoff)
			select {
			case <-time.After(backoff):
			case <-g.ctx.Done():
				return nil
			}
			continue
		}
		backoff = 0
		ip := sourceIP(conn)
		switch g.admit(conn, ip) {
		case admitClosed:
			conn.Close()
			return nil
		case admitRefused:
			// Closing at once frees the descriptor; the refusal is logged
			// at a bounded rate so a flood cannot fill the disk either.
			conn.Close()
			g.failLog.printf("sshgw: %s: refused: connection limit reached", ip)
			continue
		}
		go func() {
			defer g.untrackConn(conn, ip)
			g.handleConn(conn, ip)
		}()
	}
}

// Close stops every listener given to Serve, closes live connections, cancels
// running commands and waits for the gateway's goroutines to finish.
func (g *Gateway) Close() error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	g.cancel()
	var firstErr error
	for l := range g.listeners {
		if err := l.Close(); err != nil && firstErr == nil && !errors.Is(err, net.ErrClosed) {
			firstErr = err
		}
	}
	for c := range g.conns {
		c.Close()
	}
	g.mu.Unlock()
	g.wg.Wait()
	return firstErr
}

func (g *Gateway) isClosed() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closed
}

type admission int

const (
	admitOK admission = iota
	admitRefused
	admitClosed
)

// admit counts a new connection from ip against the caps and registers it
// so Close can reach it; an admitted connection is in its handshake until
// handshakeDone.
func (g *Gateway) admit(conn net.Conn, ip string) admission {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return admitClosed
	}
	c := g.perIP[ip]
	if c == nil {
		c = &ipCount{}
	}
	if g.total >= g.limits.total || c.open >= g.limits.perIP ||
		g.handshake >= g.limits.handshakes || c.handshake >= g.limits.handshakesPerIP {
		return admitRefused
	}
	g.perIP[ip] = c
	c.open++
	c.handshake++
	g.total++
	g.handshake++
	g.conns[conn] = struct{}{}
	g.wg.Add(1)
	return admitOK
}

// handshakeDone moves a connection from the handshake count to the open
// count only (it authenticated, or failed and is about to close).
func (g *Gateway) handshakeDone(ip string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.handshake--
	g.perIP[ip].handshake--
}

func (g *Gateway) untrackConn(conn net.Conn, ip string) {
	conn.Close()
	g.mu.Lock()
	delete(g.conns, conn)
	g.total--
	if c := g.perIP[ip]; c != nil {
		if c.open--; c.open == 0 {
			delete(g.perIP, ip)
		}
	}
	g.mu.Unlock()
	g.wg.Done()
}

// Open reports the connections the gateway holds now and how many of them
// are still in their handshake.
func (g *Gateway) Open() (total, handshaking int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.total, g.handshake
}

type connLimits struct{ total, perIP, handshakes, handshakesPerIP int }

type ipCount struct{ open, handshake int }

func orDefault(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// sourceIP is the connection's remote address without the port.
func sourceIP(c net.Conn) string {
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}

// goTracked runs f on a goroutine that Close waits for.
func (g *Gateway) goTracked(f func()) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		f()
	}()
}

// vmIDFromServerName takes the first DNS label of the SNI name.
func vmIDFromServerName(name string) string {
	label, _, _ := strings.Cut(name, ".")
	return strings.ToLower(label)
}

func (g *Gateway) handleConn(raw net.Conn, ip string) {
	inHandshake := true
	defer func() {
		if inHandshake {
			g.handshakeDone(ip)
		}
	}()
	remote := raw.RemoteAddr().String()
	_ = raw.SetDeadline(time.Now().Add(handshakeTimeout))

	tlsConn := tls.Server(raw, g.tlsConfig)
	hsCtx, hsCancel := context.WithTimeout(g.ctx, handshakeTimeout)
	err := tlsConn.HandshakeContext(hsCtx)
	hsCancel()
	if err != nil {
		g.failLog.printf("sshgw: %s: TLS handshake failed: %v", remote, err)
		return
	}
	defer tlsConn.Close()

	serverName := tlsConn.ConnectionState().ServerName
	vmID := vmIDFromServerName(serverName)
	if vmID == "" {
		g.failLog.printf("sshgw: %s: rejected: no SNI server name", remote)
		return
	}
	if g.domain != "" && !strings.EqualFold(serverName, vmID+"."+g.domain) {
		g.logf("sshgw: %s: rejected: SNI name %.100q is not <vm_id>.%s", remote, serverName, g.domain)
		return
	}
	g.registerVMConn(vmID, raw)
	defer g.unregisterVMConn(vmID, raw)
	target, err := g.lookup(vmID)
	if err != nil {
		g.failLog.printf("sshgw: %s: rejected VM %s: %v", remote, vmID, err)
		return
	}
	if target == nil || target.AuthorizedKey == nil {
		g.logf("sshgw: %s: rejected VM %s: no authorized key", remote, vmID)
		return
	}

	sshConn, chans, reqs, err := ssh.NewServerConn(tlsConn, g.serverConfig(target))
	if err != nil {
		g.failLog.printf("sshgw: %s: VM %s: SSH handshake failed: %v", remote, vmID, err)
		return
	}
	defer sshConn.Close()
	_ = tlsConn.SetDeadline(time.Time{})
	g.handshakeDone(ip)
	inHandshake = false
	g.logf("sshgw: %s: VM %s: root connected", remote, vmID)

	connCtx, connCancel := context.WithCancel(g.ctx)
	defer connCancel()

	g.goTracked(func() { answerGlobalRequests(reqs) })
	for newCh := range chans {
		switch {
		case newCh.ChannelType() == "session":
			s := &session{gw: g, target: target, vmID: vmID, remote: remote}
			g.goTracked(func() { s.serve(connCtx, newCh) })
		case newCh.ChannelType() == "direct-tcpip" && target.Dial != nil:
			g.goTracked(func() { g.forward(connCtx, target, vmID, remote, newCh) })
		default:
			_ = newCh.Reject(ssh.UnknownChannelType, fmt.Sprintf("channel type %q is not supported", newCh.ChannelType()))
		}
	}
	g.logf("sshgw: %s: VM %s: connection closed", remote, vmID)
}

// serverConfig accepts only user root presenting exactly the VM's key.
func (g *Gateway) serverConfig(target *VMTarget) *ssh.ServerConfig {
	cfg := &ssh.ServerConfig{
		ServerVersion: "SSH-2.0-versd",
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			// Evaluate both conditions before deciding, so the reply does not
			// depend on which one failed first.
			keyOK := sameKey(key, target.AuthorizedKey)
			userOK := meta.User() == "root"
			if keyOK && userOK {
				return &ssh.Permissions{}, nil
			}
			return nil, errors.New("sshgw: key not authorized")
		},
	}
	cfg.AddHostKey(g.hostKey)
	return cfg
}

// answerGlobalRequests answers keepalives positively and refuses everything
// else (port forwarding and the like).
func answerGlobalRequests(reqs <-chan *ssh.Request) {
	for req := range reqs {
		if req.WantReply {
			_ = req.Reply(req.Type == "keepalive@openssh.com", nil)
		}
	}
}

func (g *Gateway) registerVMConn(vmID string, c net.Conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.byVM[vmID] == nil {
		g.byVM[vmID] = make(map[net.Conn]struct{})
	}
	g.byVM[vmID][c] = struct{}{}
}

func (g *Gateway) unregisterVMConn(vmID string, c net.Conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.byVM[vmID], c)
	if len(g.byVM[vmID]) == 0 {
		delete(g.byVM, vmID)
	}
}

// DisconnectVM closes every connection to a VM. versd calls it before a
// commit or delete: the VM's processes end then, and an SFTP session must
// not keep writing into a root filesystem that is being frozen into an
// immutable layer. Clients reconnect and see the new root.
func (g *Gateway) DisconnectVM(vmID string) int {
	if g == nil {
		return 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for c := range g.byVM[vmID] {
		c.Close()
		n++
	}
	// Forget them now: their handlers unregister only once they notice.
	delete(g.byVM, vmID)
	return n
}
