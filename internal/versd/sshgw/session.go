package sshgw

import (
	"context"
	"fmt"
	"io"
	"regexp"

	"golang.org/x/crypto/ssh"
)

// session serves one "session" channel: a single exec, shell or sftp
// subsystem, optionally preceded by env and pty-req requests.
type session struct {
	gw     *Gateway
	target *VMTarget
	vmID   string
	remote string

	env     map[string]string
	tty     *Terminal
	started bool // an exec, shell or subsystem already owns the channel
	// control feeds window-change and signal requests to the running
	// process; nil before start and for sftp.
	control chan Control
}

// envNamePattern keeps env names to what a shell accepts.
var envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// controlBuffer is how many window-change and signal requests may wait for
// the VM; more are dropped (a later resize supersedes an earlier one).
const controlBuffer = 32

func (s *session) serve(connCtx context.Context, newCh ssh.NewChannel) {
	ch, reqs, err := newCh.Accept()
	if err != nil {
		s.gw.logf("sshgw: %s: VM %s: accept session: %v", s.remote, s.vmID, err)
		return
	}
	// The session's context ends when the client closes the channel (reqs
	// drains) or the connection or gateway goes away.
	ctx, cancel := context.WithCancel(connCtx)
	defer cancel()

	for req := range reqs {
		ok := s.handleRequest(ctx, ch, req)
		if req.WantReply {
			_ = req.Reply(ok, nil)
		}
	}
}

// ptyRequest is the payload of "pty-req" (RFC 4254 §6.2).
type ptyRequest struct {
	Term                   string
	Cols, Rows             uint32
	WidthPixels, HeightPix uint32
	Modes                  string
}

// windowChange is the payload of "window-change" (RFC 4254 §6.7).
type windowChange struct {
	Cols, Rows             uint32
	WidthPixels, HeightPix uint32
}

// handleRequest acts on one channel request and reports whether it was
// accepted. Work it starts runs on a tracked goroutine that closes ch.
func (s *session) handleRequest(ctx context.Context, ch ssh.Channel, req *ssh.Request) bool {
	switch req.Type {
	case "env":
		var kv struct{ Name, Value string }
		if s.started || ssh.Unmarshal(req.Payload, &kv) != nil || !envNamePattern.MatchString(kv.Name) {
			return false
		}
		if s.env == nil {
			s.env = map[string]string{}
		}
		s.env[kv.Name] = kv.Value
		return true

	case "pty-req":
		var p ptyRequest
		if s.started || ssh.Unmarshal(req.Payload, &p) != nil {
			return false
		}
		s.tty = &Terminal{Term: p.Term, Rows: p.Rows, Cols: p.Cols}
		return true

	case "window-change":
		var w windowChange
		if s.tty == nil || ssh.Unmarshal(req.Payload, &w) != nil {
			return false
		}
		size := &Terminal{Rows: w.Rows, Cols: w.Cols}
		if !s.started {
			s.tty.Rows, s.tty.Cols = w.Rows, w.Cols
			return true
		}
		return s.sendControl(Control{Resize: size})

	case "signal":
		var sig struct{ Signal string }
		if !s.started || s.control == nil || ssh.Unmarshal(req.Payload, &sig) != nil || sig.Signal == "" {
			return false
		}
		return s.sendControl(Control{Signal: sig.Signal})

	case "exec", "shell":
		var p struct{ Command string }
		if s.started || s.target.Exec == nil {
			return false
		}
		if req.Type == "exec" && (ssh.Unmarshal(req.Payload, &p) != nil || p.Command == "") {
			return false
		}
		s.started = true
		s.control = make(chan Control, controlBuffer)
		proc := &Process{Command: p.Command, Env: s.env, TTY: s.tty, Stdin: ch, Stdout: ch, Stderr: ch.Stderr(), Control: s.control}
		if s.tty != nil {
			proc.Stderr = ch // a terminal has one output stream
		}
		s.gw.goTracked(func() { s.run(ctx, ch, req.Type, proc) })
		return true

	case "subsystem":
		var p struct{ Name string }
		if s.started || ssh.Unmarshal(req.Payload, &p) != nil || p.Name != "sftp" {
			return false
		}
		if s.target.SFTP == nil {
			return false
		}
		backend, err := s.target.SFTP(ctx)
		if err != nil {
			s.gw.logf("sshgw: %s: VM %s: open sftp: %v", s.remote, s.vmID, err)
			return false
		}
		s.started = true
		s.gw.goTracked(func() { s.forwardSFTP(ch, backend) })
		return true

	default:
		// "x11-req", "auth-agent-req@openssh.com", ...: not offered.
		return false
	}
}

// sendControl queues an event for the running process without blocking the
// channel's request loop.
func (s *session) sendControl(c Control) bool {
	if s.control == nil {
		return false
	}
	select {
	case s.control <- c:
		return true
	default:
		return false
	}
}

func (s *session) run(ctx context.Context, ch ssh.Channel, kind string, p *Process) {
	defer ch.Close()
	s.gw.logf("sshgw: %s: VM %s: %s started (terminal: %t)", s.remote, s.vmID, kind, p.TTY != nil)
	st, err := s.target.Exec(ctx, p)
	if err != nil {
		s.gw.logf("sshgw: %s: VM %s: %s failed: %v", s.remote, s.vmID, kind, err)
		fmt.Fprintf(ch.Stderr(), "versd: command could not run: %v\n", err)
		st = ExitStatus{Code: 255}
	}
	_ = ch.CloseWrite()
	if st.Signal != "" {
		// RFC 4254 §6.10: a command killed by a signal reports the signal,
		// not a status.
		msg := struct {
			Signal     string
			CoreDumped bool
			Message    string
			Lang       string
		}{Signal: st.Signal, CoreDumped: st.CoreDumped}
		_, _ = ch.SendRequest("exit-signal", false, ssh.Marshal(&msg))
		s.gw.logf("sshgw: %s: VM %s: %s killed by signal %s", s.remote, s.vmID, kind, st.Signal)
		return
	}
	code := st.Code
	if code < 0 || code > 255 {
		code = 255
	}
	status := struct{ Status uint32 }{uint32(code)}
	_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(&status))
	s.gw.logf("sshgw: %s: VM %s: %s exited with status %d", s.remote, s.vmID, kind, code)
}

// forwardSFTP copies the subsystem's bytes between the client and the VM's
// SFTP server until either side ends; the VM's server going away (the VM
// stopped or died) closes the channel.
func (s *session) forwardSFTP(ch ssh.Channel, backend io.ReadWriteCloser) {
	s.gw.logf("sshgw: %s: VM %s: sftp started", s.remote, s.vmID)
	done := make(chan struct{}, 2)
	go func() {
		_, _ = io.Copy(backend, ch)
		if cw, ok := backend.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		done <- struct{}{}
	}()
	go func() {
		_, _ = io.Copy(ch, backend)
		done <- struct{}{}
	}()
	<-done
	backend.Close()
	ch.Close()
	<-done
	s.gw.logf("sshgw: %s: VM %s: sftp ended", s.remote, s.vmID)
}
