package sshgw

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"

	"golang.org/x/crypto/ssh"
)

// session serves one "session" channel: a single exec or sftp subsystem,
// optionally preceded by env requests.
type session struct {
	gw     *Gateway
	target *VMTarget
	vmID   string
	remote string

	env     []string // "NAME=value" in arrival order
	started bool     // an exec or subsystem already owns the channel
}

// envNamePattern keeps env names to what sh accepts in `export NAME=...`.
var envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

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

// handleRequest acts on one channel request and reports whether it was
// accepted. Work it starts runs on a tracked goroutine that closes ch.
func (s *session) handleRequest(ctx context.Context, ch ssh.Channel, req *ssh.Request) bool {
	switch req.Type {
	case "env":
		var kv struct{ Name, Value string }
		if s.started || ssh.Unmarshal(req.Payload, &kv) != nil || !envNamePattern.MatchString(kv.Name) {
			return false
		}
		s.env = append(s.env, kv.Name+"="+kv.Value)
		return true

	case "exec":
		var p struct{ Command string }
		if s.started || ssh.Unmarshal(req.Payload, &p) != nil || s.target.Exec == nil {
			return false
		}
		s.started = true
		command := withEnv(s.env, p.Command)
		s.gw.goTracked(func() { s.runExec(ctx, ch, command) })
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
		// "shell", "pty-req", "x11-req", "signal", "window-change", ...:
		// versd VMs are driven by exec and SFTP only.
		return false
	}
}

func (s *session) runExec(ctx context.Context, ch ssh.Channel, command string) {
	defer ch.Close()
	s.gw.logf("sshgw: %s: VM %s: exec started", s.remote, s.vmID)
	code, err := s.target.Exec(ctx, command, ch, ch, ch.Stderr())
	if err != nil {
		s.gw.logf("sshgw: %s: VM %s: exec failed: %v", s.remote, s.vmID, err)
		fmt.Fprintf(ch.Stderr(), "versd: command could not run: %v\n", err)
		code = 255
	}
	if code < 0 || code > 255 {
		code = 255
	}
	_ = ch.CloseWrite()
	status := struct{ Status uint32 }{uint32(code)}
	_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(&status))
	s.gw.logf("sshgw: %s: VM %s: exec exited with status %d", s.remote, s.vmID, code)
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

// withEnv prefixes command with exports of the env requests the client sent,
// since Exec runs it through sh -c.
func withEnv(env []string, command string) string {
	if len(env) == 0 {
		return command
	}
	var b strings.Builder
	b.WriteString("export")
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		b.WriteString(" " + name + "=" + shellQuote(value))
	}
	b.WriteString("; ")
	b.WriteString(command)
	return b.String()
}

// shellQuote wraps v in single quotes, which sh takes literally.
func shellQuote(v string) string {
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}
