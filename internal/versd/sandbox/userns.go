package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Every VM's user namespace is owned by a host uid of its own, not by root.
//
// The kernel charges per-user counts (inotify instances and watches,
// fanotify groups and marks, POSIX message queue bytes, pending signals,
// namespaces) at every level of the user namespace tree: to the process's
// uid inside its namespace and, one level up, to the uid that created the
// namespace. When runc creates the namespace, that uid is host root, so all
// VMs shared host root's budget (fs.inotify.max_user_instances, 128 by
// default) with host root's own processes: one VM could starve the host.
// A cap set inside the VM's namespace (/proc/sys/user/max_inotify_*) would
// not help: it is per uid in that namespace, and VM root can setuid to
// 65 536 of them.
//
// So versd makes the namespace itself, from a process running as the VM's
// owner uid, and runc joins it. Everything the VM does is then charged to
// that uid, whose budget is the host's per-user default and is shared with
// nothing else: no host account uses these uids, and each running VM has
// its own.
const (
	ownerIDBase  = hostIDBase + hostIDSize
	ownerIDCount = 1 << 16
)

// ownersDir holds one lock file per owner uid in use. The lock (flock) is
// held for as long as the VM runs and goes away with versd, so several
// Managers and several versd on one host never hand out the same uid twice,
// and a crash frees its uids.
const ownersDir = "/run/versd/owners"

// vmOwner is a VM's user namespace and the uid that owns it.
type vmOwner struct {
	uid  int
	lock *os.File

	// mu guards the holder: the start path and the VM's exit may both end it.
	mu     sync.Mutex
	holder *exec.Cmd      // keeps the namespace alive until runc has joined it
	stdin  io.WriteCloser // closing it ends the holder
	pid    int

	releaseOnce sync.Once
}

// nsPath is the namespace for runc to join (linux.namespaces[].path).
func (o *vmOwner) nsPath() string {
	return fmt.Sprintf("/proc/%d/ns/user", o.pid)
}

// newOwner takes a free owner uid and makes a user namespace owned by it,
// with the VMs' id mapping. The namespace lives in a holder process: util-
// linux's unshare running as the owner uid, which creates it and then runs
// cat. An unprivileged unshare is what makes the owner that uid; a Go
// process cannot unshare a user namespace itself (it has threads), and a
// namespace cloned by versd would be root's again.
func (m *Manager) newOwner() (*vmOwner, error) {
	o, err := lockOwnerUID()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(m.unsharePath, "--user", "--", m.catPath)
	cmd.Env = []string{"PATH=" + defaultPath}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: uint32(o.uid), Gid: uint32(o.uid)},
		Setpgid:    true,
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		o.release()
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		o.release()
		return nil, err
	}
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		o.release()
		return nil, fmt.Errorf("sandbox: starting the user namespace holder: %w", err)
	}
	o.holder, o.stdin, o.pid = cmd, stdin, cmd.Process.Pid
	// cat echoing a byte means unshare has made the namespace and exec'd it.
	_, werr := stdin.Write([]byte{'\n'})
	_, rerr := bufio.NewReader(stdout).ReadByte()
	if werr != nil || rerr != nil {
		o.release()
		return nil, fmt.Errorf("sandbox: creating a user namespace as uid %d failed: %s "+
			"(versd needs unprivileged user namespaces: user.max_user_namespaces > 0, and on Ubuntu "+
			"kernel.apparmor_restrict_unprivileged_userns = 0)", o.uid, stderr.String())
	}
	// Host root writes the mapping (it holds CAP_SETUID over the parent
	// namespace); the owner uid itself could map only itself.
	mapping := fmt.Sprintf("0 %d %d\n", hostIDBase, hostIDSize)
	for _, f := range []string{"uid_map", "gid_map"} {
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/%s", cmd.Process.Pid, f), []byte(mapping), 0); err != nil {
			o.release()
			return nil, fmt.Errorf("sandbox: writing the VM's %s: %w", f, err)
		}
	}
	return o, nil
}

// lockOwnerUID takes the lowest owner uid no running VM on this host has.
func lockOwnerUID() (*vmOwner, error) {
	if err := os.MkdirAll(ownersDir, 0o700); err != nil {
		return nil, err
	}
	for i := 0; i < ownerIDCount; i++ {
		uid := ownerIDBase + i
		f, err := os.OpenFile(filepath.Join(ownersDir, strconv.Itoa(uid)), os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, err
		}
		// flock conflicts between open files even within one process.
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err == nil {
			return &vmOwner{uid: uid, lock: f}, nil
		}
		f.Close()
	}
	return nil, fmt.Errorf("sandbox: all %d VM owner uids are in use", ownerIDCount)
}

// dropHolder ends the holder once runc has joined the namespace (or gave
// up); the VM's processes keep the namespace alive.
func (o *vmOwner) dropHolder() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.holder == nil {
		return
	}
	o.stdin.Close()
	_ = o.holder.Process.Kill()
	_ = o.holder.Wait()
	o.holder = nil
}

// release ends the holder and frees the uid; call it once the VM's
// processes are gone.
func (o *vmOwner) release() {
	o.releaseOnce.Do(func() {
		o.dropHolder()
		// Closing the file drops the flock; the file stays for the next VM.
		o.lock.Close()
	})
}

// limitedBuffer keeps the first few KiB written to it (a helper's stderr).
type limitedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := 4096 - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

var errNoUnshare = errors.New("sandbox: util-linux's unshare was not found; run `apt-get install util-linux` (make deps does)")
