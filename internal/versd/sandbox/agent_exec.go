package sandbox

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// outputGrace is how long output is still collected after the command
// exits, for background processes that inherited its stdout; without a bound
// `cmd &` would hold an exec open forever.
const outputGrace = 200 * time.Millisecond

// exec runs one command inside the VM (the agent is its init) and
// streams it over conn.
func (a *agent) exec(conn net.Conn, spec ExecSpec) {
	var wmu sync.Mutex
	send := func(kind byte, b []byte) {
		wmu.Lock()
		defer wmu.Unlock()
		_ = writeFrame(conn, kind, b)
	}
	fail := func(code int, format string, args ...any) {
		send(frameStderr, []byte(fmt.Sprintf(format, args...)+"\n"))
		b, _ := json.Marshal(response{ExitCode: code})
		send(frameExit, b)
	}

	extra := spec.Env
	if spec.TTY != nil && spec.TTY.Term != "" {
		if _, ok := extra["TERM"]; !ok {
			extra = maps.Clone(extra)
			if extra == nil {
				extra = map[string]string{}
			}
			extra["TERM"] = spec.TTY.Term
		}
	}
	env := a.execEnv(extra)
	dir := spec.WorkingDir
	if dir == "" {
		dir = "/"
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		fail(ExitCannotExecute, "exec failed: working directory %q does not exist or is not a directory", dir)
		return
	}
	prog, code, err := lookPath(spec.Command[0], lookupEnv(env, "PATH"), dir)
	if err != nil {
		fail(code, "exec failed: %v", err)
		return
	}

	// The command's end of its streams, and ours: three pipes, or one
	// terminal (a pty allocated here, inside the VM) for all three.
	var (
		childFiles []*os.File
		stdinW     *os.File                              // we write the command's input here
		outR, errR *os.File                              // and read its output here
		tty        *os.File                              // pty only: the terminal side, for resizes
		sysAttr    = &syscall.SysProcAttr{Setpgid: true} // its own group, killed as one
	)
	if spec.TTY != nil {
		ptm, pts, err := pty.Open()
		if err != nil {
			fail(ExitCannotExecute, "exec failed: allocating a terminal: %v", err)
			return
		}
		if spec.TTY.Rows > 0 && spec.TTY.Cols > 0 {
			_ = pty.Setsize(ptm, &pty.Winsize{Rows: spec.TTY.Rows, Cols: spec.TTY.Cols})
		}
		childFiles = []*os.File{pts, pts, pts}
		stdinW, outR, tty = ptm, ptm, ptm
		// A session of its own with the terminal as controlling tty, so job
		// control and ^C reach the foreground job as in any login.
		sysAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	} else {
		stdinR, w, err := os.Pipe()
		if err != nil {
			fail(ExitCannotExecute, "exec failed: %v", err)
			return
		}
		oR, oW, _ := os.Pipe()
		eR, eW, _ := os.Pipe()
		childFiles = []*os.File{stdinR, oW, eW}
		stdinW, outR, errR = w, oR, eR
	}
	closeOurs := func() {
		stdinW.Close()
		outR.Close()
		if errR != nil {
			errR.Close()
		}
	}
	pid, exited, err := a.start(prog, spec.Command, &os.ProcAttr{
		Dir:   dir,
		Env:   env,
		Files: childFiles,
		Sys:   sysAttr,
	})
	for _, f := range childFiles[:1] {
		f.Close()
	}
	if spec.TTY == nil {
		childFiles[1].Close()
		childFiles[2].Close()
	}
	if err != nil {
		closeOurs()
		code := ExitCannotExecute
		if errors.Is(err, fs.ErrNotExist) {
			code = ExitNotFound
		}
		fail(code, "exec failed: %v", err)
		return
	}

	var pumps sync.WaitGroup
	outputs := []struct {
		r    *os.File
		kind byte
	}{{outR, frameStdout}}
	if errR != nil {
		outputs = append(outputs, struct {
			r    *os.File
			kind byte
		}{errR, frameStderr})
	}
	for _, p := range outputs {
		pumps.Add(1)
		go func() {
			defer pumps.Done()
			buf := make([]byte, 32<<10)
			for {
				n, err := p.r.Read(buf)
				if n > 0 {
					send(p.kind, buf[:n])
				}
				if err != nil {
					// A pty reads EIO once the last holder of the
					// terminal side has closed it: that is its EOF.
					return
				}
			}
		}()
	}

	clientGone := make(chan struct{})
	go func() {
		defer close(clientGone)
		for {
			kind, payload, err := readFrame(conn)
			if err != nil {
				return
			}
			switch kind {
			case frameStdin:
				_, _ = stdinW.Write(payload) // fails once the command closed stdin
			case frameStdinEOF:
				if tty == nil { // a terminal has no EOF of its own; the shell reads ^D
					stdinW.Close()
				}
			case frameResize:
				if tty != nil && len(payload) == 4 {
					_ = pty.Setsize(tty, &pty.Winsize{Rows: binary.BigEndian.Uint16(payload), Cols: binary.BigEndian.Uint16(payload[2:])})
				}
			case frameSignal:
				if sig, ok := signalByName[string(payload)]; ok {
					// To the process group, as a terminal's ^C would.
					_ = unix.Kill(-pid, sig)
				}
			}
		}
	}()

	var timeout <-chan time.Time
	if spec.TimeoutSecs > 0 {
		t := time.NewTimer(time.Duration(spec.TimeoutSecs) * time.Second)
		defer t.Stop()
		timeout = t.C
	}
	kill := func() {
		_ = unix.Kill(-pid, unix.SIGKILL)
		_ = unix.Kill(pid, unix.SIGKILL)
	}
	var ws unix.WaitStatus
	timedOut := false
	select {
	case ws = <-exited:
	case <-timeout:
		timedOut = true
		kill()
		ws = <-exited
	case <-clientGone:
		kill()
		ws = <-exited
	}
	if tty == nil {
		stdinW.Close()
	}

	drained := make(chan struct{})
	go func() { pumps.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(outputGrace):
		closeOurs()
		<-drained
	}
	closeOurs()

	resp := response{ExitCode: exitCode(ws)}
	if ws.Signaled() {
		resp.Signal, resp.CoreDumped = signalName(ws.Signal()), ws.CoreDump()
	}
	if timedOut {
		// The timeout's own KILL is not the command's fate: 124, as
		// timeout(1) reports it.
		resp = response{ExitCode: ExitTimeout}
		send(frameStderr, []byte(fmt.Sprintf("exec: timed out after %ds\n", spec.TimeoutSecs)))
	}
	b, _ := json.Marshal(resp)
	send(frameExit, b)
}

// signalName is a signal's name as SSH sends it: without "SIG" ("KILL"),
// or "SIG<n>" for one without a name.
func signalName(sig unix.Signal) string {
	if name := unix.SignalName(sig); name != "" {
		return strings.TrimPrefix(name, "SIG")
	}
	return fmt.Sprintf("SIG%d", int(sig))
}

func exitCode(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// signalByName maps the signal names of RFC 4254 §6.9 (and a few more that
// OpenSSH passes on) to signals.
var signalByName = map[string]unix.Signal{
	"ABRT": unix.SIGABRT, "ALRM": unix.SIGALRM, "FPE": unix.SIGFPE, "HUP": unix.SIGHUP,
	"ILL": unix.SIGILL, "INT": unix.SIGINT, "KILL": unix.SIGKILL, "PIPE": unix.SIGPIPE,
	"QUIT": unix.SIGQUIT, "SEGV": unix.SIGSEGV, "TERM": unix.SIGTERM, "USR1": unix.SIGUSR1,
	"USR2": unix.SIGUSR2, "WINCH": unix.SIGWINCH, "CONT": unix.SIGCONT, "STOP": unix.SIGSTOP,
	"TSTP": unix.SIGTSTP,
}

// execEnv is spec.Env over the defaults, as KEY=VALUE sorted by key.
func (a *agent) execEnv(extra map[string]string) []string {
	env := map[string]string{"PATH": defaultPath, "HOME": "/root", "HOSTNAME": a.hostname}
	maps.Copy(env, extra)
	keys := slices.Sorted(maps.Keys(env))
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+env[k])
	}
	return out
}

func lookupEnv(env []string, key string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}

// lookPath resolves a command with the command's own PATH (exec.LookPath
// would use the agent's). It returns the exit code a shell would give when
// the command cannot run: 127 when missing, 126 when not executable.
func lookPath(file, pathEnv, dir string) (string, int, error) {
	if strings.Contains(file, "/") {
		p := file
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		code, err := checkExecutable(p, file)
		return p, code, err
	}
	for _, d := range filepath.SplitList(pathEnv) {
		if d == "" {
			d = "."
		}
		if !filepath.IsAbs(d) {
			d = filepath.Join(dir, d)
		}
		p := filepath.Join(d, file)
		if _, err := checkExecutable(p, file); err == nil {
			return p, 0, nil
		}
	}
	return "", ExitNotFound, fmt.Errorf("%q: executable file not found in $PATH", file)
}

func checkExecutable(path, name string) (int, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return ExitNotFound, fmt.Errorf("%q: no such file or directory", name)
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return ExitCannotExecute, fmt.Errorf("%q: permission denied", name)
	}
	return 0, nil
}
