package sandbox

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
)

// ExecSpec describes a command to run in a VM.
type ExecSpec struct {
	Command     []string          `json:"command"`
	Env         map[string]string `json:"env,omitempty"` // over PATH, HOME and HOSTNAME defaults
	WorkingDir  string            `json:"working_dir,omitempty"`
	TimeoutSecs int64             `json:"timeout_secs,omitempty"` // 0: none
	// TTY, when set, runs the command on a pseudo-terminal allocated inside
	// the VM: it becomes the session leader with the terminal as its
	// controlling tty, and stdout carries the terminal's output (stderr
	// stays empty), as with `ssh -t`.
	TTY *TTYSpec `json:"tty,omitempty"`
}

// TTYSpec is the terminal an interactive command starts with.
type TTYSpec struct {
	Term string `json:"term,omitempty"` // TERM; empty keeps the default
	Rows uint16 `json:"rows,omitempty"`
	Cols uint16 `json:"cols,omitempty"`
}

// Control is an event for a running command: a new terminal size or a
// signal (by name without "SIG", as SSH sends them).
type Control struct {
	Resize *TTYSpec // Rows and Cols
	Signal string
}

// Exit codes that the VM reports the way Docker and coreutils do.
const (
	ExitTimeout       = 124 // TimeoutSecs elapsed; the process group was killed
	ExitCannotExecute = 126 // missing working directory, not executable
	ExitNotFound      = 127 // no such command
)

// ExitStatus is how a command ended.
type ExitStatus struct {
	// Code is the exit code; 128+n when the command was killed by signal
	// n, ExitTimeout on timeout.
	Code int
	// Signal names the signal that killed the command, without "SIG"
	// ("KILL"); "" when it exited.
	Signal     string
	CoreDumped bool
}

// Exec runs a command in the VM and streams its output. It returns the
// command's exit code (128+n when killed by signal n, ExitTimeout on
// timeout). Cancelling ctx kills the process group and returns ctx.Err().
// Exec returns when the process has exited; it does not wait for stdin to
// reach EOF, and output that background processes write after a short grace
// period is dropped.
func (m *Manager) Exec(ctx context.Context, id string, spec ExecSpec, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	st, err := m.ExecInteractive(ctx, id, spec, stdin, stdout, stderr, nil)
	return st.Code, err
}

// ExecInteractive is Exec with a stream of resize and signal events for the
// command (ctl may be nil), and the signal that killed it: an SSH session
// reports that as exit-signal rather than a code.
func (m *Manager) ExecInteractive(ctx context.Context, id string, spec ExecSpec, stdin io.Reader, stdout, stderr io.Writer, ctl <-chan Control) (ExitStatus, error) {
	failed := ExitStatus{Code: -1}
	if len(spec.Command) == 0 {
		return failed, errNoCommand
	}
	v, err := m.running(id)
	if err != nil {
		return failed, err
	}
	if v.isPaused() {
		return failed, fmt.Errorf("sandbox: VM %s: %w", id, ErrPaused)
	}
	if err := ctx.Err(); err != nil {
		return failed, err
	}
	conn, err := v.open()
	if err != nil {
		return failed, err
	}
	defer conn.Close()
	// Closing the connection is how the agent learns to kill the command.
	stopWatch := context.AfterFunc(ctx, func() { conn.Close() })
	defer stopWatch()

	if err := writeJSONFrame(conn, frameRequest, request{Op: "exec", Exec: &spec}); err != nil {
		return failed, m.execError(ctx, v, err)
	}
	if stdin == nil {
		// A command that could not start has already answered and closed
		// its end; its exit frame is still there to read.
		_ = writeFrame(conn, frameStdinEOF, nil)
	} else {
		go sendStdin(conn, stdin)
	}
	if ctl != nil {
		done := make(chan struct{})
		defer close(done)
		go sendControl(conn, ctl, done)
	}
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	for {
		kind, payload, err := readFrame(conn)
		if err != nil {
			return failed, m.execError(ctx, v, err)
		}
		switch kind {
		case frameStdout:
			if _, err := stdout.Write(payload); err != nil {
				return failed, fmt.Errorf("sandbox: writing stdout: %w", err)
			}
		case frameStderr:
			if _, err := stderr.Write(payload); err != nil {
				return failed, fmt.Errorf("sandbox: writing stderr: %w", err)
			}
		case frameExit:
			var resp response
			if err := json.Unmarshal(payload, &resp); err != nil {
				return failed, err
			}
			if resp.Error != "" {
				return failed, fmt.Errorf("sandbox: VM %s: exec: %s", id, resp.Error)
			}
			return ExitStatus{Code: resp.ExitCode, Signal: resp.Signal, CoreDumped: resp.CoreDumped}, nil
		}
	}
}

func sendStdin(conn net.Conn, stdin io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := stdin.Read(buf)
		if n > 0 {
			if werr := writeFrame(conn, frameStdin, buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			// EOF or a failing reader: either way the command sees EOF.
			_ = writeFrame(conn, frameStdinEOF, nil)
			return
		}
	}
}

// sendControl forwards resize and signal events until the exec ends. Frame
// writes are whole (one write each), so they interleave safely with stdin.
func sendControl(conn net.Conn, ctl <-chan Control, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case c, ok := <-ctl:
			if !ok {
				return
			}
			var err error
			if c.Resize != nil {
				var b [4]byte
				binary.BigEndian.PutUint16(b[0:], c.Resize.Rows)
				binary.BigEndian.PutUint16(b[2:], c.Resize.Cols)
				err = writeFrame(conn, frameResize, b[:])
			}
			if c.Signal != "" && err == nil {
				err = writeFrame(conn, frameSignal, []byte(c.Signal))
			}
			if err != nil {
				return
			}
		}
	}
}

// execError explains a broken exec connection: cancellation, or a VM that
// went away (deleted, committed, crashed).
func (m *Manager) execError(ctx context.Context, v *vm, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	if v.died() {
		return fmt.Errorf("sandbox: VM %s: %w", v.id, ErrDead)
	}
	if v.hasExited() || errors.Is(err, io.EOF) {
		return fmt.Errorf("sandbox: VM %s stopped during exec: %w", v.id, ErrNotRunning)
	}
	return fmt.Errorf("sandbox: VM %s: exec: %w", v.id, err)
}

// SFTP opens an SFTP session served inside the VM, by a process of the VM
// with the VM's privileges; the returned stream carries the SFTP protocol.
// It ends when the client closes it or the VM stops.
func (m *Manager) SFTP(ctx context.Context, id string) (io.ReadWriteCloser, error) {
	v, err := m.running(id)
	if err != nil {
		return nil, err
	}
	if v.isPaused() {
		return nil, fmt.Errorf("sandbox: VM %s: %w", id, ErrPaused)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	conn, err := v.open()
	if err != nil {
		return nil, err
	}
	if err := writeJSONFrame(conn, frameRequest, request{Op: "sftp"}); err != nil {
		conn.Close()
		return nil, m.execError(ctx, v, err)
	}
	return conn, nil
}
