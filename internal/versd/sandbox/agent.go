package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// agentEnv marks a process as a VM agent; its value is the agentConfig.
const agentEnv = "VERSD_SANDBOX_AGENT"

// agentReady is the agent's first message on the control socket once the
// root is ready; anything else is an error message.
const agentReady = "ready"

// agentControlFD is the control socket (the first of cmd.ExtraFiles).
const agentControlFD = 3

// agentConfig tells the agent how to build the VM's root.
type agentConfig struct {
	Hostname  string   `json:"hostname"`
	LayersDir string   `json:"layers_dir"`
	Root      string   `json:"root"`            // mount point (overlay) or full copy
	Lower     []string `json:"lower,omitempty"` // overlay lower dirs, top first, relative to LayersDir
	Upper     string   `json:"upper,omitempty"`
	Work      string   `json:"work,omitempty"`
}

func (c agentConfig) overlayOptions() string {
	return fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s,%s",
		strings.Join(c.Lower, ":"), c.Upper, c.Work, overlayFixedOptions)
}

// init turns this process into a VM agent when the Manager re-executed it.
// It runs before main (or a test binary's test main), so every binary that
// imports the package can be an agent.
func init() {
	if cfg, ok := os.LookupEnv(agentEnv); ok {
		os.Exit(runAgent(cfg))
	}
}

func runAgent(cfgJSON string) int {
	os.Unsetenv(agentEnv)
	f := os.NewFile(agentControlFD, "control")
	conn, err := net.FileConn(f)
	f.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "control socket:", err)
		return 1
	}
	control := conn.(*net.UnixConn)
	var cfg agentConfig
	if err := json.Unmarshal([]byte(cfgJSON), &cfg); err != nil {
		control.Write([]byte("bad agent configuration: " + err.Error()))
		return 1
	}
	a := &agent{hostname: cfg.Hostname, waiters: map[int]chan unix.WaitStatus{}}
	// Register for SIGCHLD before any child exists, so no exit goes unseen.
	sigchld := make(chan os.Signal, 16)
	signal.Notify(sigchld, unix.SIGCHLD)
	go a.reap(sigchld)

	if err := setupRoot(cfg); err != nil {
		control.Write([]byte(err.Error()))
		return 1
	}
	if a.spawn, err = startSpawner(); err != nil {
		control.Write([]byte(err.Error()))
		return 1
	}
	if _, err := control.Write([]byte(agentReady)); err != nil {
		return 1
	}
	a.serve(control)
	// The Manager is gone: take the VM down with us.
	_ = unix.Kill(-1, unix.SIGKILL)
	return 0
}

// setupRoot builds the VM's view of the world in the agent's own mount
// namespace, then chroots into it.
func setupRoot(cfg agentConfig) error {
	// Private propagation: nothing mounted here reaches the host.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	root := cfg.Root
	if len(cfg.Lower) > 0 {
		// The agent's working directory is LayersDir, which keeps the
		// relative lowerdir paths short.
		if err := unix.Mount("overlay", root, "overlay", 0, cfg.overlayOptions()); err != nil {
			return fmt.Errorf("mounting overlay root: %w", err)
		}
	}
	if err := mountIn(root, "proc", "proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "", 0o555); err != nil {
		return err
	}
	if err := setupDev(root); err != nil {
		return err
	}
	if err := unix.Sethostname([]byte(cfg.Hostname)); err != nil {
		return fmt.Errorf("setting hostname: %w", err)
	}
	if err := loopbackUp(); err != nil {
		fmt.Fprintln(os.Stderr, "bringing lo up:", err) // not fatal: few programs need it
	}
	if err := protectProc(root); err != nil {
		return err
	}
	return enterRoot(root, len(cfg.Lower) == 0)
}

// enterRoot makes root the filesystem root with pivot_root and detaches the
// host's tree. A plain chroot could be left again by any process holding
// CAP_SYS_CHROOT; after this there is nothing outside to reach.
func enterRoot(root string, needsMount bool) error {
	if needsMount { // pivot_root wants a mount point; a full copy is just a directory
		if err := unix.Mount(root, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind-mounting the root: %w", err)
		}
	}
	if err := unix.Chdir(root); err != nil {
		return err
	}
	// pivot_root(".", ".") stacks the old root under the new one, where
	// the detaching unmount removes it; no directory is needed in the VM.
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detaching the host root: %w", err)
	}
	return unix.Chdir("/")
}

// protectProc makes the host-wide knobs of /proc read-only; a VM's root is
// the host's root user, and /proc/sys or /proc/sysrq-trigger would otherwise
// reach the host kernel.
func protectProc(root string) error {
	for _, p := range []string{"sys", "sysrq-trigger", "irq", "bus", "fs"} {
		target := filepath.Join(root, "proc", p)
		if _, err := os.Lstat(target); err != nil {
			continue
		}
		if err := unix.Mount(target, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("protecting /proc/%s: %w", p, err)
		}
		if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			return fmt.Errorf("protecting /proc/%s: %w", p, err)
		}
	}
	return nil
}

// keptCapabilities are the ones Docker grants a container by default, minus
// CAP_MKNOD (there is no device cgroup here to make device nodes harmless).
var keptCapabilities = map[int]bool{
	unix.CAP_CHOWN: true, unix.CAP_DAC_OVERRIDE: true, unix.CAP_FOWNER: true, unix.CAP_FSETID: true,
	unix.CAP_KILL: true, unix.CAP_SETGID: true, unix.CAP_SETUID: true, unix.CAP_SETPCAP: true,
	unix.CAP_NET_BIND_SERVICE: true, unix.CAP_NET_RAW: true, unix.CAP_SYS_CHROOT: true,
	unix.CAP_AUDIT_WRITE: true, unix.CAP_SETFCAP: true,
}

// startSpawner starts the goroutine that starts every command. It runs on a
// locked OS thread whose capability bounding set is shrunk first: the set is
// per thread and inherited through fork, so commands run as root cannot
// mount, load modules or touch raw devices, while the agent keeps what it
// needs. (syscall.AllThreadsSyscall would do it process-wide but refuses to
// run in binaries that link cgo.)
func startSpawner() (chan<- func(), error) {
	jobs := make(chan func())
	ready := make(chan error)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		for c := 0; c <= 63; c++ {
			if keptCapabilities[c] {
				continue
			}
			if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
				if errors.Is(err, unix.EINVAL) {
					break // past the kernel's last capability
				}
				ready <- fmt.Errorf("dropping capability %d: %w", c, err)
				return
			}
		}
		close(ready)
		for job := range jobs {
			job()
		}
	}()
	if err := <-ready; err != nil {
		return nil, err
	}
	return jobs, nil
}

func mountIn(root, dir, source, fstype string, flags uintptr, data string, mode os.FileMode) error {
	target := filepath.Join(root, dir)
	if err := os.MkdirAll(target, mode); err != nil {
		return err
	}
	if err := unix.Mount(source, target, fstype, flags, data); err != nil {
		return fmt.Errorf("mounting %s on /%s: %w", fstype, dir, err)
	}
	return nil
}

// setupDev gives the VM a /dev of its own: a tmpfs (so nothing written there
// lands in a layer) holding the host's harmless devices.
func setupDev(root string) error {
	if err := mountIn(root, "dev", "tmpfs", "tmpfs", unix.MS_NOSUID, "mode=755,size=16m", 0o755); err != nil {
		return err
	}
	dev := filepath.Join(root, "dev")
	for _, name := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		if err := addDevice(dev, name); err != nil {
			return err
		}
	}
	links := map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dev, name)); err != nil {
			return err
		}
	}
	if err := mountIn(root, "dev/shm", "shm", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=1777,size=64m", 0o1777); err != nil {
		return err
	}
	// A devpts instance of the VM's own, so terminals allocated inside it
	// (interactive SSH sessions) are invisible to the host and other VMs.
	if err := mountIn(root, "dev/pts", "devpts", "devpts", unix.MS_NOSUID|unix.MS_NOEXEC,
		"newinstance,ptmxmode=0666,mode=0620,gid=5", 0o755); err != nil {
		return err
	}
	return os.Symlink("pts/ptmx", filepath.Join(dev, "ptmx"))
}

// addDevice bind-mounts the host's device node, or recreates it with mknod
// when bind mounts are refused.
func addDevice(dev, name string) error {
	host := "/dev/" + name
	var st unix.Stat_t
	if err := unix.Stat(host, &st); err != nil {
		return nil // the host has none to give
	}
	target := filepath.Join(dev, name)
	if err := os.WriteFile(target, nil, 0o666); err != nil {
		return err
	}
	if err := unix.Mount(host, target, "", unix.MS_BIND, ""); err == nil {
		return nil
	}
	os.Remove(target)
	if err := unix.Mknod(target, st.Mode, int(st.Rdev)); err != nil {
		return fmt.Errorf("creating /dev/%s: %w", name, err)
	}
	return unix.Chmod(target, st.Mode&0o7777)
}

func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// agent serves one VM from inside it.
type agent struct {
	hostname string
	// mu guards waiters and is held across process start and reaping, so a
	// child that exits at once is still matched to its waiter.
	mu      sync.Mutex
	waiters map[int]chan unix.WaitStatus
	spawn   chan<- func() // runs a function on the reduced-capability thread
}

// reap collects every exited child. As PID 1 the agent inherits orphans,
// which must be reaped or they stay zombies; exits of processes the agent
// started go to their waiter.
func (a *agent) reap(sigchld <-chan os.Signal) {
	for range sigchld {
		a.mu.Lock()
		for {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
			if c, ok := a.waiters[pid]; ok {
				c <- ws
				delete(a.waiters, pid)
			}
		}
		a.mu.Unlock()
	}
}

// serve receives one connection per request over the control socket until
// the Manager closes it.
func (a *agent) serve(control *net.UnixConn) {
	buf := make([]byte, 16)
	oob := make([]byte, unix.CmsgSpace(4*8))
	for {
		_, oobn, _, _, err := control.ReadMsgUnix(buf, oob)
		if err != nil {
			return
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			continue
		}
		for _, msg := range msgs {
			fds, err := unix.ParseUnixRights(&msg)
			if err != nil {
				continue
			}
			for _, fd := range fds {
				go a.handle(fd)
			}
		}
	}
}

func (a *agent) handle(fd int) {
	f := os.NewFile(uintptr(fd), "request")
	conn, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return
	}
	defer conn.Close()
	kind, payload, err := readFrame(conn)
	if err != nil || kind != frameRequest {
		return
	}
	var req request
	if err := json.Unmarshal(payload, &req); err != nil {
		writeJSONFrame(conn, frameExit, response{ExitCode: -1, Error: "bad request: " + err.Error()})
		return
	}
	var opErr error
	switch req.Op {
	case "exec":
		if req.Exec == nil || len(req.Exec.Command) == 0 {
			opErr = errNoCommand
			break
		}
		a.exec(conn, *req.Exec)
		return
	case "dial":
		if req.Dial == nil {
			opErr = errors.New("dial needs a host and port")
			break
		}
		a.dial(conn, *req.Dial)
		return
	case "sync":
		unix.Sync()
	case "pause":
		if opErr = signalAll(unix.SIGSTOP); opErr == nil {
			waitAllStopped()
		}
	case "resume":
		opErr = signalAll(unix.SIGCONT)
	default:
		opErr = fmt.Errorf("unknown operation %q", req.Op)
	}
	resp := response{}
	if opErr != nil {
		resp = response{ExitCode: -1, Error: opErr.Error()}
	}
	writeJSONFrame(conn, frameExit, resp)
}

// signalAll signals every process of the VM: from PID 1, kill(-1) reaches the
// whole PID namespace except the caller.
func signalAll(sig unix.Signal) error {
	if err := unix.Kill(-1, sig); err != nil && !errors.Is(err, unix.ESRCH) {
		return err
	}
	return nil
}

// pauseSettle bounds how long Pause waits for processes to reach the stopped
// state (one in uninterruptible sleep stops only when its I/O completes).
const pauseSettle = 2 * time.Second

// waitAllStopped waits until SIGSTOP has taken effect on every process of
// the VM, so that a paused VM is really still when Pause returns. The agent
// sees only the VM's processes in its /proc.
func waitAllStopped() {
	deadline := time.Now().Add(pauseSettle)
	for time.Now().Before(deadline) && !allStopped() {
		time.Sleep(time.Millisecond)
	}
}

func allStopped() bool {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range entries {
		if e.Name() == "1" || e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || i+2 >= len(s) {
			continue
		}
		switch s[i+2] {
		case 'T', 't', 'Z', 'X':
		default:
			return false
		}
	}
	return true
}
