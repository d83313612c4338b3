package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Options configures a Manager.
type Options struct {
	// DataDir holds everything: layers/ (immutable layers), vms/ (writable
	// layers) and base.json (which layer is the base).
	DataDir string
	// BaseRootfs is an optional directory or tarball (plain or gzip)
	// imported as the base layer, e.g. a debootstrap tree or the output of
	// `docker export`. Empty builds a tiny root from busybox-static.
	BaseRootfs string
	// Logf receives operational messages; nil discards them.
	Logf func(format string, args ...any)
	// Runtime is the OCI runtime binary; empty finds runc on PATH.
	Runtime string
}

var (
	// ErrNotFound: no such VM (neither running nor on disk) or layer.
	ErrNotFound = errors.New("sandbox: not found")
	// ErrPaused: the VM is paused and cannot start processes.
	ErrPaused = errors.New("sandbox: VM is paused")
	// ErrNotRunning: the VM has a writable layer on disk but no agent.
	ErrNotRunning = errors.New("sandbox: VM is not running")
	// ErrDead: the VM's init (its agent) exited on its own; only DeleteVM
	// (or a new StartVM) helps.
	ErrDead = errors.New("sandbox: VM is dead: its init process exited")
)

// Manager owns the layers under DataDir and the VMs it started.
type Manager struct {
	dataDir   string
	layersDir string
	vmsDir    string
	logf      func(format string, args ...any)
	baseLayer string

	runtimePath  string // runc
	unsharePath  string // util-linux's unshare and cat: see newOwner
	catPath      string
	runDir       string // /run/versd/<key>: bundles, root mounts, agent files
	runcRoot     string // runc's state for this Manager's containers
	agentDir     string // tmpfs with the agent binary, mounted into every VM
	cgroupParent string // every VM's cgroup sits below it

	shiftMu      sync.Mutex // one layer ownership shift at a time
	templateMu   sync.Mutex // one mkfs of a disk template at a time
	layerMountMu sync.Mutex // one mount of a layer image at a time

	mu      sync.Mutex
	vms     map[string]*vm
	idLocks map[string]*sync.Mutex // serialises lifecycle operations per VM id
	closed  bool
}

// New prepares DataDir, probes overlayfs and makes sure the base layer exists.
func New(opts Options) (*Manager, error) {
	if opts.DataDir == "" {
		return nil, errors.New("sandbox: Options.DataDir is required")
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("sandbox: VMs need root (namespaces, mounts and chroot); run versd as root")
	}
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, err
	}
	runtimePath := opts.Runtime
	if runtimePath == "" {
		runtimePath = "runc"
	}
	if runtimePath, err = exec.LookPath(runtimePath); err != nil {
		return nil, fmt.Errorf("%w (%v)", errRuntimeMissing, err)
	}
	unsharePath, err := exec.LookPath("unshare")
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", errNoUnshare, err)
	}
	catPath, err := exec.LookPath("cat")
	if err != nil {
		return nil, err
	}
	key := runtimeKey(dataDir)
	runDir := filepath.Join("/run/versd", key)
	m := &Manager{
		dataDir:      dataDir,
		layersDir:    filepath.Join(dataDir, "layers"),
		vmsDir:       filepath.Join(dataDir, "vms"),
		logf:         opts.Logf,
		vms:          map[string]*vm{},
		idLocks:      map[string]*sync.Mutex{},
		runtimePath:  runtimePath,
		unsharePath:  unsharePath,
		catPath:      catPath,
		runDir:       runDir,
		runcRoot:     filepath.Join(runDir, "runc"),
		agentDir:     filepath.Join(runDir, "agent"),
		cgroupParent: "/versd-" + key,
	}
	if m.logf == nil {
		m.logf = func(string, ...any) {}
	}
	for _, d := range []string{m.layersDir, m.vmsDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	m.removeStaging()
	if err := probeOverlay(m.dataDir); err != nil {
		return nil, fmt.Errorf("sandbox: overlayfs does not work on %s: %w", m.dataDir, err)
	}
	m.cleanStale()
	// The VMs' root users must traverse to their rootfs mounts below.
	for _, d := range []string{filepath.Dir(m.runDir), m.runDir} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return nil, err
		}
		if err := os.Chmod(d, 0o711); err != nil {
			return nil, err
		}
	}
	if err := m.prepareAgentFiles(); err != nil {
		m.cleanStale()
		return nil, err
	}
	if err := m.ensureBaseLayer(opts.BaseRootfs); err != nil {
		m.cleanStale()
		return nil, err
	}
	return m, nil
}

// removeStaging deletes leftovers of operations a crash interrupted.
func (m *Manager) removeStaging() {
	entries, _ := os.ReadDir(m.layersDir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			os.RemoveAll(filepath.Join(m.layersDir, e.Name()))
		}
	}
}

// BaseLayer is the id of the base root filesystem layer; it is stable across
// restarts on the same DataDir.
func (m *Manager) BaseLayer() string { return m.baseLayer }

func (m *Manager) vmDir(id string) string { return filepath.Join(m.vmsDir, id) }

// lockID serialises StartVM, Commit, Pause, Resume and DeleteVM for one id.
func (m *Manager) lockID(id string) func() {
	m.mu.Lock()
	l, ok := m.idLocks[id]
	if !ok {
		l = &sync.Mutex{}
		m.idLocks[id] = l
	}
	m.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// running returns the VM's live agent or the error that says why there is none.
func (m *Manager) running(id string) (*vm, error) {
	m.mu.Lock()
	v := m.vms[id]
	m.mu.Unlock()
	if v != nil && !v.hasExited() {
		return v, nil
	}
	if v != nil && v.died() {
		return nil, fmt.Errorf("sandbox: VM %s: %w", id, ErrDead)
	}
	if !validID.MatchString(id) {
		return nil, fmt.Errorf("sandbox: VM %q: %w", id, ErrNotFound)
	}
	if _, err := os.Stat(m.vmDir(id)); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("sandbox: VM %s: %w", id, ErrNotFound)
	}
	return nil, fmt.Errorf("sandbox: VM %s: %w", id, ErrNotRunning)
}

// StartVM starts VM id on the given layer stack (bottom..top), with the
// given limits (at most one; none means only the default pids limit). An
// existing writable layer of that id is reused, so a VM restarted after a
// crash keeps its files.
func (m *Manager) StartVM(ctx context.Context, id string, layers []string, limits ...Limits) error {
	if !validID.MatchString(id) {
		return fmt.Errorf("sandbox: invalid VM id %q (want [A-Za-z0-9._-], at most 64)", id)
	}
	var lim Limits
	if len(limits) > 0 {
		lim = limits[0]
	}
	defer m.lockID(id)()
	return m.startLocked(ctx, id, layers, lim)
}

func (m *Manager) startLocked(ctx context.Context, id string, layers []string, lim Limits) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return errors.New("sandbox: manager is closed")
	}
	if v := m.vms[id]; v != nil && !v.hasExited() {
		m.mu.Unlock()
		return fmt.Errorf("sandbox: VM %s is already running", id)
	}
	m.mu.Unlock()

	stack, err := m.effectiveStack(layers)
	if err != nil {
		return err
	}
	if err := m.mountLayers(stack); err != nil {
		return err
	}
	if err := m.shiftLayers(stack); err != nil {
		return err
	}
	// The VM's user namespace is made while its root is mounted; only the
	// spec waits for it.
	type ownerResult struct {
		owner *vmOwner
		err   error
	}
	made := make(chan ownerResult, 1)
	go func() {
		o, err := m.newOwner()
		made <- ownerResult{o, err}
	}()
	var owner *vmOwner
	waited := false
	userns := func() (string, error) {
		waited = true
		r := <-made
		if r.err != nil {
			return "", r.err
		}
		owner = r.owner
		return owner.nsPath(), nil
	}
	bundle, err := m.prepareRoot(id, stack, lim, userns)
	if err != nil {
		if !waited {
			owner = (<-made).owner
		}
		if owner != nil {
			owner.release()
		}
		m.releaseRoot(id)
		return err
	}
	v, err := m.spawnVM(ctx, id, bundle, owner)
	if err != nil {
		// Its root stays mounted when runc never started (releasing twice
		// is harmless when the VM was started and stopped).
		m.releaseRoot(id)
		return err
	}
	v.stack = slices.Clone(layers)
	v.limits = lim
	m.mu.Lock()
	m.vms[id] = v
	m.mu.Unlock()
	return nil
}

// State reports "running", "paused" or "dead" (the VM's init exited on its
// own; it stays dead until DeleteVM or StartVM).
func (m *Manager) State(id string) (string, error) {
	v, err := m.running(id)
	if errors.Is(err, ErrDead) {
		return "dead", nil
	}
	if err != nil {
		return "", err
	}
	if v.isPaused() {
		return "paused", nil
	}
	return "running", nil
}

// Pause freezes every process of the VM (the runtime's freezer cgroup);
// Exec then fails with ErrPaused until Resume.
func (m *Manager) Pause(id string) error {
	defer m.lockID(id)()
	return m.setPaused(id, true)
}

// Resume continues the processes Pause stopped.
func (m *Manager) Resume(id string) error {
	defer m.lockID(id)()
	return m.setPaused(id, false)
}

func (m *Manager) setPaused(id string, paused bool) error {
	v, err := m.running(id)
	if err != nil {
		return err
	}
	if v.isPaused() == paused {
		return nil
	}
	op := "resume"
	if paused {
		op = "pause"
	}
	if err := m.runc(context.Background(), op, id); err != nil {
		return err
	}
	v.mu.Lock()
	v.paused = paused
	v.mu.Unlock()
	return nil
}

// DeleteVM kills the VM's processes and frees its writable layer.
func (m *Manager) DeleteVM(id string) error {
	if !validID.MatchString(id) {
		return fmt.Errorf("sandbox: VM %q: %w", id, ErrNotFound)
	}
	defer m.lockID(id)()
	m.mu.Lock()
	v := m.vms[id]
	delete(m.vms, id)
	m.mu.Unlock()
	found := v != nil
	if v != nil {
		m.stopVM(v)
	}
	if _, err := os.Lstat(m.vmDir(id)); err == nil {
		found = true
		unmountUnder(m.vmDir(id))
		if err := os.RemoveAll(m.vmDir(id)); err != nil {
			return err
		}
	}
	if !found {
		return fmt.Errorf("sandbox: VM %s: %w", id, ErrNotFound)
	}
	return nil
}

// VMs lists the ids of the VMs with a writable layer on disk, so versd can
// remove the ones it has no record of (a crash during a delete).
func (m *Manager) VMs() ([]string, error) {
	entries, err := os.ReadDir(m.vmsDir)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() && validID.MatchString(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

// Close stops every VM; writable layers stay on disk for the next StartVM.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.closed = true
	vms := make([]*vm, 0, len(m.vms))
	for _, v := range m.vms {
		vms = append(vms, v)
	}
	m.vms = map[string]*vm{}
	m.mu.Unlock()
	for _, v := range vms {
		m.stopVM(v)
	}
	m.cleanStale()
	return nil
}

// probeOverlay mounts a throwaway overlay under dir and deletes a lower file
// through it, which checks both the mount and whiteout creation.
func probeOverlay(dir string) error {
	p, err := os.MkdirTemp(dir, ".overlay-probe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(p)
	for _, d := range []string{"l", "u", "w", "m"} {
		if err := os.Mkdir(filepath.Join(p, d), 0o700); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(p, "l", "f"), nil, 0o600); err != nil {
		return err
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s,%s",
		filepath.Join(p, "l"), filepath.Join(p, "u"), filepath.Join(p, "w"), overlayFixedOptions)
	merged := filepath.Join(p, "m")
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mount: %w", err)
	}
	defer unix.Unmount(merged, unix.MNT_DETACH)
	if err := os.Remove(filepath.Join(merged, "f")); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(p, "u", "f"), &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFCHR {
		return errors.New("overlayfs did not create a whiteout")
	}
	return nil
}
