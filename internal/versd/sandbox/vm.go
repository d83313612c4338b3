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
	"runtime"
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

// vm is a running container: `runc run` in the foreground, whose init is
// the agent.
type vm struct {
	id      string
	stack   []string // as given to StartVM, bottom..top
	limits  Limits
	bundle  string    // runc bundle; bundle/rootfs is the overlay mount
	cmd     *exec.Cmd // runc run; it returns when the VM's init exits
	control *net.UnixConn
	exited  chan struct{} // closed once runc has returned

	mu       sync.Mutex
	paused   bool
	stopping bool // versd is taking the VM down; an exit is not a death
}

func (v *vm) hasExited() bool {
	select {
	case <-v.exited:
		return true
	default:
		return false
	}
}

// died says the VM's init exited without versd stopping it.
func (v *vm) died() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.hasExited() && !v.stopping
}

func (v *vm) isPaused() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.paused
}

// stop takes the VM down and releases its mounts; the writable layer stays.
func (m *Manager) stopVM(v *vm) {
	v.mu.Lock()
	v.stopping = true
	paused := v.paused
	v.mu.Unlock()
	ctx := context.Background()
	if paused {
		// Frozen processes cannot act on the agent's SIGKILL until thawed;
		// delete -f thaws and kills.
		_ = m.runc(ctx, "delete", "-f", v.id)
	}
	// The agent kills every process of the VM and exits when its control
	// socket closes; as the PID namespace's init its exit ends the rest.
	v.control.Close()
	select {
	case <-v.exited:
	case <-time.After(runcStopTimeout):
		_ = m.runc(ctx, "kill", v.id, "KILL")
		<-v.exited
	}
	if _, err := os.Stat(filepath.Join(m.runcRoot, v.id)); err == nil {
		_ = m.runc(ctx, "delete", "-f", v.id)
	}
	m.releaseRoot(v.id)
}

// releaseRoot unmounts a VM's root and removes its bundle.
func (m *Manager) releaseRoot(id string) {
	bundle := filepath.Join(m.runDir, "vms", id)
	unmountUnder(bundle)
	_ = os.RemoveAll(bundle)
}

// overlayDirs are a VM's writable layer paths, relative to DataDir: the
// overlay is mounted from there so that the options a VM sees in its mount
// table name no host path.
func overlayOptions(stack []string, writable string) string {
	lower := make([]string, 0, len(stack))
	for i := len(stack) - 1; i >= 0; i-- {
		lower = append(lower, "layers/"+stack[i]+"/root")
	}
	return fmt.Sprintf("lowerdir=%s,upperdir=%s/upper,workdir=%s/work,%s",
		strings.Join(lower, ":"), writable, writable, overlayFixedOptions)
}

// prepareRoot makes the VM's writable layer, mounts its root and writes its
// runc bundle, whose user namespace path userns gives once it exists.
func (m *Manager) prepareRoot(id string, stack []string, lim Limits, userns func() (string, error)) (string, error) {
	dir := m.vmDir(id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	m.releaseRoot(id)
	writable, err := m.prepareWritable(id, lim)
	if err != nil {
		return "", err
	}
	opts := overlayOptions(stack, writable)
	if len(opts) >= maxMountData {
		return "", fmt.Errorf("sandbox: VM %s: %d layers do not fit one overlay mount; commit less often or flatten", id, len(stack))
	}
	if writable == filepath.Join("vms", id) {
		if err := os.MkdirAll(filepath.Join(dir, "upper"), 0o755); err != nil {
			return "", err
		}
		// A fresh upper's root belongs to the VM's root user, like the layers.
		if err := os.Lchown(filepath.Join(dir, "upper"), hostIDBase, hostIDBase); err != nil {
			return "", err
		}
		// overlayfs wants an empty work dir of its own; an old one may hold
		// leftovers of a crash.
		if err := os.RemoveAll(filepath.Join(dir, "work")); err != nil {
			return "", err
		}
		if err := os.MkdirAll(filepath.Join(dir, "work"), 0o700); err != nil {
			return "", err
		}
	}
	bundle := filepath.Join(m.runDir, "vms", id)
	rootfs := filepath.Join(bundle, "rootfs")
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		return "", err
	}
	// The VM's root user must traverse to its rootfs (runc mounts it from
	// inside the user namespace).
	for _, d := range []string{m.runDir, filepath.Join(m.runDir, "vms"), bundle} {
		if err := os.Chmod(d, 0o711); err != nil {
			return "", err
		}
	}
	if err := mountFrom(m.dataDir, "overlay", rootfs, "overlay", opts); err != nil {
		return "", fmt.Errorf("sandbox: VM %s: mounting its root: %w", id, err)
	}
	ns, err := userns()
	if err != nil {
		return "", err
	}
	spec, err := m.vmSpec(id, lim, ns)
	if err != nil {
		return "", err
	}
	if err := writeBundle(bundle, spec); err != nil {
		return "", err
	}
	return bundle, nil
}

// mountFrom mounts with dir as the working directory, so relative paths in
// the options resolve against it. The working directory is per process, so
// the mount runs on one OS thread that unshared its filesystem context.
//
// That thread lives as long as the process. A thread that exits would fire
// the Pdeathsig of every child forked from it, and other code in the same
// process relies on Pdeathsig (terraform-exec sets SIGKILL for terraform,
// which killed acceptance tests running beside an in-process versd).
func mountFrom(dir, source, target, fstype, data string) error {
	mountThreadOnce.Do(startMountThread)
	req := mountRequest{dir: dir, source: source, target: target, fstype: fstype, data: data, done: make(chan error, 1)}
	mountRequests <- req
	return <-req.done
}

type mountRequest struct {
	dir, source, target, fstype, data string
	done                              chan error
}

var (
	mountThreadOnce sync.Once
	mountRequests   = make(chan mountRequest)
)

func startMountThread() {
	go func() {
		// Locked and never unlocked, and this goroutine never returns, so
		// the thread with the private working directory is never reused
		// by other goroutines and never exits.
		runtime.LockOSThread()
		unshareErr := unix.Unshare(unix.CLONE_FS)
		for req := range mountRequests {
			if unshareErr != nil {
				req.done <- unshareErr
				continue
			}
			if err := unix.Chdir(req.dir); err != nil {
				req.done <- err
				continue
			}
			req.done <- unix.Mount(req.source, req.target, req.fstype, 0, req.data)
		}
	}()
}

// spawnVM runs the bundle with runc and waits until the agent reports that
// it serves requests. The VM owns owner from then on: its uid is freed when
// runc returns.
func (m *Manager) spawnVM(ctx context.Context, id, bundle string, owner *vmOwner) (*vm, error) {
	v, err := m.runVM(ctx, id, bundle, owner)
	// Started or not, runc has joined the namespace or given up.
	owner.dropHolder()
	return v, err
}

func (m *Manager) runVM(ctx context.Context, id, bundle string, owner *vmOwner) (*vm, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		owner.release()
		return nil, err
	}
	parentEnd := os.NewFile(uintptr(fds[0]), "agent-control")
	childEnd := os.NewFile(uintptr(fds[1]), "agent-control")
	defer parentEnd.Close()

	logs := &agentLog{id: id, logf: m.logf}
	cmd := exec.Command(m.runtimePath, "--root", m.runcRoot, "run", "--bundle", bundle, "--preserve-fds", "1", id)
	cmd.ExtraFiles = []*os.File{childEnd} // fd 3 in runc and in the agent
	cmd.Stdout, cmd.Stderr = logs, logs
	// No Pdeathsig: it fires when the spawning OS thread exits, and Go
	// ends threads (a goroutine that exits while locked to its thread). If versd dies, the agent sees its
	// control socket close and takes the VM down, and runc returns.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	childEnd.Close()
	if err != nil {
		owner.release()
		return nil, fmt.Errorf("sandbox: starting VM %s: %w", id, err)
	}
	v := &vm{id: id, bundle: bundle, cmd: cmd, exited: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		v.mu.Lock()
		stopping := v.stopping
		v.mu.Unlock()
		if !stopping {
			m.logf("sandbox: VM %s: its init exited (%v); the VM is dead", id, err)
		}
		// The init's exit ended the VM's PID namespace and every process
		// in it: nothing is charged to the owner uid any more.
		owner.release()
		close(v.exited)
	}()
	conn, err := net.FileConn(parentEnd)
	if err != nil {
		m.stopVMStarting(v)
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
	m.stopVM(v)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("sandbox: VM %s did not start: %v%s", id, err, logs.tail())
	}
	return nil, fmt.Errorf("sandbox: VM %s: %s", id, buf[:n])
}

// stopVMStarting is stopVM for a VM whose control socket never opened.
func (m *Manager) stopVMStarting(v *vm) {
	v.mu.Lock()
	v.stopping = true
	v.mu.Unlock()
	_ = m.runc(context.Background(), "delete", "-f", v.id)
	<-v.exited
	m.releaseRoot(v.id)
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

// call runs a request without streams (sync).
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

// agentLog forwards runc's and the agent's own output to Logf and keeps the
// last lines for error messages.
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
		l.logf("sandbox: VM %s: %s", l.id, line)
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
	return " (runc said: " + strings.Join(l.last, "; ") + ")"
}

var errNoCommand = errors.New("sandbox: exec needs a command")
