package vers

import (
	"context"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/ssh"
)

// RemoteCommand is a command running on one SSH exec channel whose stdin
// and stdout the caller drives, so one channel can carry a short exchange
// (the command answers a question, then reads a stream) at the cost of one
// channel open instead of one request per item.
type RemoteCommand struct {
	// Stdin feeds the command; Close sends EOF.
	Stdin io.WriteCloser
	// Stdout is the command's output, read by the caller.
	Stdout io.Reader

	conn    *SSHConn
	sess    *ssh.Session
	stopCtx func() bool
	ctx     context.Context
}

// ErrConnectionLost is returned (wrapped) by RemoteCommand.Wait when the SSH
// transport ended before the command reported an exit status.
var ErrConnectionLost = errors.New("the SSH connection ended before the command finished")

// Start runs cmd on a new exec channel. stderr may be nil. Cancelling ctx
// closes the whole connection, not only the channel: a write blocked on a
// full channel window is released only when the transport goes away, and
// a cancelled transfer must stop within a second.
func (s *SSHConn) Start(ctx context.Context, cmd string, stderr io.Writer) (*RemoteCommand, error) {
	sess, err := s.client.NewSession()
	if err != nil {
		return nil, fmt.Errorf("ssh to VM %s: new session: %w", s.vmID, errors.Join(err, ErrConnectionLost))
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		sess.Close()
		return nil, err
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		sess.Close()
		return nil, err
	}
	sess.Stderr = stderr
	if err := sess.Start(cmd); err != nil {
		sess.Close()
		return nil, fmt.Errorf("ssh to VM %s: start: %w", s.vmID, errors.Join(err, ErrConnectionLost))
	}
	rc := &RemoteCommand{Stdin: stdin, Stdout: stdout, conn: s, sess: sess, ctx: ctx}
	rc.stopCtx = context.AfterFunc(ctx, func() {
		_ = sess.Signal(ssh.SIGKILL)
		s.Close()
	})
	return rc, nil
}

// Wait waits for the command and returns its exit status. A transport that
// ended first gives an error wrapping ErrConnectionLost; a cancelled ctx
// gives ctx's error.
func (rc *RemoteCommand) Wait() (int, error) {
	err := rc.sess.Wait()
	rc.stopCtx()
	rc.sess.Close()
	if ctxErr := rc.ctx.Err(); ctxErr != nil {
		return -1, ctxErr
	}
	var exitErr *ssh.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exitErr):
		if exitErr.Signal() != "" {
			return -1, signalError(rc.conn.vmID, exitErr)
		}
		return exitErr.ExitStatus(), nil
	default:
		return -1, fmt.Errorf("ssh to VM %s: %w (%v)", rc.conn.vmID, ErrConnectionLost, err)
	}
}

// Abort ends the command and its channel without waiting for it.
func (rc *RemoteCommand) Abort() {
	rc.stopCtx()
	_ = rc.sess.Signal(ssh.SIGKILL)
	rc.sess.Close()
}
