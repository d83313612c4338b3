package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// overlayFixedOptions keep every upper directory self-contained, so it can be
// frozen into a lower layer as is: full copy-ups (no metacopy), no redirect
// xattrs pointing into other layers, no index.
const overlayFixedOptions = "redirect_dir=off,metacopy=off,index=off"

// maxMountData is the kernel's limit on mount(2) option data (one page).
const maxMountData = 4000

// agentStartTimeout bounds StartVM when ctx has no deadline.
const agentStartTimeout = 30 * time.Second

// vm is a running agent.
type vm struct {
	id      string
	stack   []string // as given to StartVM, bottom..top
	cmd     *exec.Cmd
	control *net.UnixConn
	exited  chan struct{} // closed once the agent has been reaped

	mu     sync.Mutex
	paused bool
}

func (v *vm) pid() int { return v.cmd.Process.Pid }

func (v *vm) hasExited() bool {
	select {
	case <-v.exited:
		return true
	default:
		return false
	}
}

func (v *vm) isPaused() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.paused
}

// stop kills the agent. As PID 1 of its namespace, its death takes every
// process of the VM with it, and its mount namespace (overlay, /proc, /dev).
func (v *vm) stop() {
	_ = v.cmd.Process.Kill()
	<-v.exited
	v.control.Close()
}

// prepareRoot makes the VM's writable layer and describes the root for the
// agent. The writable layer's form says how it was started before: upper/ for
// overlay, root/ for a full copy; a new one uses overlay when it can.
func (m *Manager) prepareRoot(id string, stack []string) (agentConfig, error) {
	dir := m.vmDir(id)
	cfg := agentConfig{Hostname: id, LayersDir: m.layersDir}
	copyRoot := filepath.Join(dir, "root")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return cfg, err
	}
	lower := make([]string, 0, len(stack))
	for i := len(stack) - 1; i >= 0; i-- {
		lower = append(lower, stack[i]+"/root") // relative to LayersDir
	}
	cfg.Root = filepath.Join(dir, "merged")
	cfg.Upper = filepath.Join(dir, "upper")
	cfg.Work = filepath.Join(dir, "work")
	cfg.Lower = lower
	_, copyErr := os.Stat(copyRoot)
	useOverlay := m.overlay && copyErr != nil && len(cfg.overlayOptions()) < maxMountData
	if !useOverlay {
		if m.overlay && copyErr != nil {
			m.logf("sandbox: VM %s: %d layers do not fit an overlay mount; using a full copy", id, len(stack))
		}
		if copyErr != nil {
			if err := m.mergeStack(stack, copyRoot); err != nil {
				return cfg, err
			}
		}
		return agentConfig{Hostname: id, LayersDir: m.layersDir, Root: copyRoot}, nil
	}
	if err := os.MkdirAll(cfg.Upper, 0o755); err != nil {
		return cfg, err
	}
	// overlayfs wants an empty work dir of its own; an old one may hold
	// leftovers of a crash.
	if err := os.RemoveAll(cfg.Work); err != nil {
		return cfg, err
	}
	for _, d := range []string{cfg.Work, cfg.Root} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// mergeStack builds a full copy of a layer stack at dst (the fallback when
// overlayfs is missing), staging it so a crash leaves no half-copied root.
func (m *Manager) mergeStack(stack []string, dst string) error {
	tmp := dst + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	for _, id := range stack {
		if err := applyLayer(m.layerRoot(id), tmp); err != nil {
			os.RemoveAll(tmp)
			return fmt.Errorf("sandbox: copying layer %s: %w", id, err)
		}
	}
	return os.Rename(tmp, dst)
}

// spawnAgent starts the agent process in new namespaces and waits until it
// reports that the root is mounted and it serves requests.
func (m *Manager) spawnAgent(ctx context.Context, id string, cfg agentConfig) (*vm, error) {
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	parentEnd := os.NewFile(uintptr(fds[0]), "agent-control")
	childEnd := os.NewFile(uintptr(fds[1]), "agent-control")
	defer parentEnd.Close()

	logs := &agentLog{id: id, logf: m.logf}
	cmd := &exec.Cmd{
		Path:       "/proc/self/exe",
		Args:       []string{"versd-vm:" + id},
		Env:        []string{agentEnv + "=" + string(cfgJSON)},
		Dir:        m.layersDir, // the overlay lowerdir paths are relative to it
		ExtraFiles: []*os.File{childEnd},
		Stdout:     logs,
		Stderr:     logs,
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWNET,
			// Tied to the spawning OS thread; Go keeps threads alive unless a
			// goroutine exits while locked to one, and the agent also exits
			// when its control socket closes.
			Pdeathsig: unix.SIGKILL,
			Setpgid:   true,
		},
	}
	err = cmd.Start()
	childEnd.Close()
	if err != nil {
		return nil, fmt.Errorf("sandbox: starting VM %s: %w", id, err)
	}
	v := &vm{id: id, cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(v.exited)
	}()
	conn, err := net.FileConn(parentEnd)
	if err != nil {
		_ = cmd.Process.Kill()
		<-v.exited
		return nil, err
	}
	v.control = conn.(*net.UnixConn)

	deadline := time.Now().Add(agentStartTimeout)
	if d, ok := ctx.Deadline(); ok {
		deadline = d
	}
	_ = v.control.SetReadDeadline(deadline)
	stopWatch := context.AfterFunc(ctx, func() { _ = v.control.SetReadDeadline(time.Now()) })
	buf := make([]byte, 4096)
	n, err := v.control.Read(buf)
	stopWatch()
	_ = v.control.SetReadDeadline(time.Time{})
	if err == nil && string(buf[:n]) == agentReady {
		return v, nil
	}
	v.stop()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("sandbox: VM %s agent did not start: %v%s", id, err, logs.tail())
	}
	return nil, fmt.Errorf("sandbox: VM %s: %s", id, buf[:n])
}

// open hands the agent one end of a new socket pair and returns the other:
// one connection per request, whatever the agent's namespaces.
func (v *vm) open() (net.Conn, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	_, _, err = v.control.WriteMsgUnix([]byte{0}, unix.UnixRights(fds[1]), nil)
	unix.Close(fds[1])
	if err != nil {
		unix.Close(fds[0])
		return nil, fmt.Errorf("sandbox: VM %s: %w", v.id, ErrNotRunning)
	}
	f := os.NewFile(uintptr(fds[0]), "agent-request")
	defer f.Close()
	return net.FileConn(f)
}

// call runs a request without streams (sync, pause, resume).
func (v *vm) call(op string) error {
	conn, err := v.open()
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := writeJSONFrame(conn, frameRequest, request{Op: op}); err != nil {
		return err
	}
	for {
		kind, payload, err := readFrame(conn)
		if err != nil {
			return fmt.Errorf("sandbox: VM %s: %s: %w", v.id, op, err)
		}
		if kind != frameExit {
			continue
		}
		var resp response
		if err := json.Unmarshal(payload, &resp); err != nil {
			return err
		}
		if resp.Error != "" {
			return fmt.Errorf("sandbox: VM %s: %s: %s", v.id, op, resp.Error)
		}
		return nil
	}
}

// agentLog forwards the agent's own output to Logf and keeps the last lines
// for error messages.
type agentLog struct {
	id   string
	logf func(string, ...any)
	mu   sync.Mutex
	last []string
}

func (l *agentLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range strings.Split(string(bytes.TrimRight(p, "\n")), "\n") {
		l.logf("sandbox: VM %s agent: %s", l.id, line)
		l.last = append(l.last, line)
		if len(l.last) > 5 {
			l.last = l.last[1:]
		}
	}
	return len(p), nil
}

func (l *agentLog) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.last) == 0 {
		return ""
	}
	return " (agent said: " + strings.Join(l.last, "; ") + ")"
}

var errNoCommand = errors.New("sandbox: exec needs a command")
