package sandbox

import (
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

	env := a.execEnv(spec.Env)
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

	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		fail(ExitCannotExecute, "exec failed: %v", err)
		return
	}
	outR, outW, _ := os.Pipe()
	errR, errW, _ := os.Pipe()
	pid, exited, err := a.start(prog, spec.Command, &os.ProcAttr{
		Dir:   dir,
		Env:   env,
		Files: []*os.File{stdinR, outW, errW},
		Sys:   &syscall.SysProcAttr{Setpgid: true}, // its own group, killed as one
	})
	stdinR.Close()
	outW.Close()
	errW.Close()
	if err != nil {
		stdinW.Close()
		outR.Close()
		errR.Close()
		code := ExitCannotExecute
		if errors.Is(err, fs.ErrNotExist) {
			code = ExitNotFound
		}
		fail(code, "exec failed: %v", err)
		return
	}

	var pumps sync.WaitGroup
	for _, p := range []struct {
		r    *os.File
		kind byte
	}{{outR, frameStdout}, {errR, frameStderr}} {
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
				stdinW.Close()
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
	stdinW.Close()

	drained := make(chan struct{})
	go func() { pumps.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(outputGrace):
		outR.Close()
		errR.Close()
		<-drained
	}
	outR.Close()
	errR.Close()

	code = exitCode(ws)
	if timedOut {
		code = ExitTimeout
		send(frameStderr, []byte(fmt.Sprintf("exec: timed out after %ds\n", spec.TimeoutSecs)))
	}
	b, _ := json.Marshal(response{ExitCode: code})
	send(frameExit, b)
}

func exitCode(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
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
