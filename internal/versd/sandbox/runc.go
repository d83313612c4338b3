package sandbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// VM root is not host root: every VM runs in a user namespace whose ids
// 0..hostIDSize-1 are host ids hostIDBase.., ids no host account uses. Layer
// files are owned by shifted ids on disk (see shiftTree), so the same layer
// serves every VM without per-boot chowns.
const (
	hostIDBase = 1 << 20
	hostIDSize = 1 << 16
)

// DefaultPids is the process limit of a VM whose Limits leave Pids at 0:
// plenty for builds, and a fork bomb stops there instead of at the host's
// pid_max.
const DefaultPids = 1024

// Limits are a VM's resources, enforced by cgroups and its disk image. Zero
// fields mean "no limit" except Pids, which defaults to DefaultPids.
type Limits struct {
	MemMiB int64 `json:"mem_mib,omitempty"` // memory, swap included
	VCPUs  int64 `json:"vcpus,omitempty"`   // CPU time, as a CFS quota of that many CPUs
	FsMiB  int64 `json:"fs_mib,omitempty"`  // the writable layer's size (an ext4 image)
	Pids   int64 `json:"pids,omitempty"`
}

// agentMountPoint is where the agent's files appear inside a VM: under the
// VM's /dev tmpfs, so the mount point never lands in a layer.
const agentMountPoint = "/dev/.versd"

// runtimeKey names this Manager's runc state, cgroups and run directory, so
// several Managers (tests, two versd on one host) never clean up each
// other's containers.
func runtimeKey(dataDir string) string {
	sum := sha256.Sum256([]byte(dataDir))
	return hex.EncodeToString(sum[:])[:12]
}

// runc runs the OCI runtime against this Manager's state directory.
func (m *Manager) runc(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, m.runtimePath, append([]string{"--root", m.runcRoot}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("sandbox: %s %s: %v: %s", filepath.Base(m.runtimePath), args[0], err, bytes.TrimSpace(out))
	}
	return nil
}

// cleanStale removes what a crashed versd left behind: containers in runc's
// state, mounts under the run directory and empty cgroups.
func (m *Manager) cleanStale() {
	if out, err := exec.Command(m.runtimePath, "--root", m.runcRoot, "list", "-q").Output(); err == nil {
		for _, id := range strings.Fields(string(out)) {
			if err := m.runc(context.Background(), "delete", "-f", id); err != nil {
				m.logf("%v", err)
			}
		}
	}
	unmountUnder(m.runDir)
	_ = os.RemoveAll(m.runDir)
	unmountUnder(m.vmsDir)    // disk images; the next start mounts them again
	unmountUnder(m.layersDir) // layer images, likewise
	for _, d := range cgroupDirs(m.cgroupParent) {
		// Children first; rmdir on a cgroup dir removes it when empty.
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			if e.IsDir() {
				_ = unix.Rmdir(filepath.Join(d, e.Name()))
			}
		}
		_ = unix.Rmdir(d)
	}
}

// cgroupDirs lists the v1 hierarchies' (and the unified one's) directories
// for a cgroup path.
func cgroupDirs(path string) []string {
	var dirs []string
	entries, _ := os.ReadDir("/sys/fs/cgroup")
	for _, e := range entries {
		d := filepath.Join("/sys/fs/cgroup", e.Name(), path)
		if _, err := os.Stat(d); err == nil {
			dirs = append(dirs, d)
		}
	}
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", path)); err == nil {
		dirs = append(dirs, filepath.Join("/sys/fs/cgroup", path))
	}
	return dirs
}

// unmountUnder detaches every mount at or below dir, deepest first.
func unmountUnder(dir string) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var points []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		p := unescapeMount(f[4])
		if p == dir || strings.HasPrefix(p, dir+"/") {
			points = append(points, p)
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	for _, p := range points {
		_ = unix.Unmount(p, unix.MNT_DETACH)
	}
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &c); err == nil {
				b.WriteByte(c)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// prepareAgentFiles puts the agent (this binary) and, when it is dynamically
// linked, its loader and libraries on a private tmpfs that every VM mounts
// read-only at agentMountPoint. A tmpfs of its own means the VM's mount
// table shows "tmpfs", not a host path, and no VM can change the files.
func (m *Manager) prepareAgentFiles() error {
	dir := m.agentDir
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=755,size=512m"); err != nil {
		return fmt.Errorf("sandbox: mounting the agent tmpfs: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if err := copyExecutable(self, filepath.Join(dir, "agent")); err != nil {
		return err
	}
	f, err := elf.Open(self)
	if err != nil {
		return fmt.Errorf("sandbox: reading %s: %w", self, err)
	}
	defer f.Close()
	interp := ""
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err != nil {
				return err
			}
			interp = string(bytes.TrimRight(b, "\x00"))
		}
	}
	if interp != "" {
		if err := copyExecutable(interp, filepath.Join(dir, "ld.so")); err != nil {
			return err
		}
		libs, err := f.ImportedLibraries()
		if err != nil {
			return err
		}
		for _, lib := range libs {
			src, err := findLibrary(lib)
			if err != nil {
				return err
			}
			if err := copyExecutable(src, filepath.Join(dir, lib)); err != nil {
				return err
			}
		}
	}
	return unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, "mode=755,size=512m")
}

func findLibrary(name string) (string, error) {
	dirs := []string{"/lib/" + runtime.GOARCH + "-linux-gnu", "/usr/lib/" + runtime.GOARCH + "-linux-gnu",
		"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
		"/lib64", "/usr/lib64", "/lib", "/usr/lib"}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("sandbox: library %s of the agent not found", name)
}

func copyExecutable(src, dst string) error {
	if err := copyFileData(src, dst); err != nil {
		return err
	}
	return os.Chmod(dst, 0o755)
}

// agentArgs is the command that starts the agent inside a VM: through the
// loader on the agent tmpfs when the binary is dynamically linked (the VM's
// root need not have a libc).
func agentArgs(hasLoader bool) []string {
	if hasLoader {
		return []string{agentMountPoint + "/ld.so", "--library-path", agentMountPoint, agentMountPoint + "/agent"}
	}
	return []string{agentMountPoint + "/agent"}
}

// dockerCapabilities are the capabilities Docker grants a container by
// default. They are capabilities of the VM's user namespace only.
var dockerCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// vmSpec is the runtime-spec configuration of one VM, which joins the user
// namespace at userns (see newOwner). The id mappings repeat the
// namespace's: runc takes the host ids of VM root from them.
func (m *Manager) vmSpec(id string, lim Limits, userns string) (*specs.Spec, error) {
	_, err := os.Stat(filepath.Join(m.agentDir, "ld.so"))
	hasLoader := err == nil
	idMap := []specs.LinuxIDMapping{{ContainerID: 0, HostID: hostIDBase, Size: hostIDSize}}
	caps := dockerCapabilities
	pids := lim.Pids
	if pids <= 0 {
		pids = DefaultPids
	}
	res := &specs.LinuxResources{
		Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
		Pids:    &specs.LinuxPids{Limit: &pids},
	}
	if lim.MemMiB > 0 {
		b := lim.MemMiB << 20
		// Swap equal to the limit: memory+swap may not exceed it, so no swap.
		res.Memory = &specs.LinuxMemory{Limit: &b, Swap: &b}
	}
	if lim.VCPUs > 0 {
		period := uint64(100_000)
		quota := lim.VCPUs * int64(period)
		res.CPU = &specs.LinuxCPU{Period: &period, Quota: &quota}
	}
	oom := 500 // VMs die before versd when the host runs short
	s := &specs.Spec{
		Version:  specs.Version,
		Root:     &specs.Root{Path: "rootfs"},
		Hostname: id,
		Process: &specs.Process{
			User: specs.User{UID: 0, GID: 0},
			Args: agentArgs(hasLoader),
			// The agent's environment is all a VM could read of it; no host
			// paths in it.
			Env:             []string{"PATH=" + defaultPath, agentEnv + "=1"},
			Cwd:             "/",
			NoNewPrivileges: true,
			OOMScoreAdj:     &oom,
			Capabilities: &specs.LinuxCapabilities{
				Bounding: caps, Effective: caps, Permitted: caps,
			},
		},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: agentMountPoint, Type: "bind", Source: m.agentDir, Options: []string{"rbind", "ro", "nosuid", "nodev"}},
		},
		Linux: &specs.Linux{
			UIDMappings: idMap,
			GIDMappings: idMap,
			CgroupsPath: m.cgroupParent + "/" + id,
			Resources:   res,
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace}, {Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace}, {Type: specs.MountNamespace}, {Type: specs.UserNamespace, Path: userns},
				{Type: specs.CgroupNamespace},
			},
			// As runc's and Docker's defaults: kernel state a VM must not
			// read or change.
			MaskedPaths: []string{
				"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
				"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
				"/sys/firmware", "/sys/devices/virtual/powercap",
			},
			ReadonlyPaths: []string{
				"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
			},
		},
	}
	sc, err := seccomp.GetDefaultProfile(s)
	if err != nil {
		return nil, fmt.Errorf("sandbox: default seccomp profile: %w", err)
	}
	s.Linux.Seccomp = sc
	return s, nil
}

// writeBundle writes config.json for a VM into its bundle directory, whose
// rootfs/ is the overlay mount.
func writeBundle(dir string, s *specs.Spec) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600)
}

// runcStopTimeout bounds how long a VM may take to go once told to.
const runcStopTimeout = 5 * time.Second

var errRuntimeMissing = errors.New("sandbox: the OCI runtime (runc) was not found; run `apt-get install runc` (make deps does)")

// initPID is the host PID of a VM's init, from the runtime's state.
func (m *Manager) initPID(id string) (int, error) {
	out, err := exec.Command(m.runtimePath, "--root", m.runcRoot, "state", id).Output()
	if err != nil {
		return 0, fmt.Errorf("sandbox: runc state %s: %w", id, err)
	}
	var st struct {
		Pid int `json:"pid"`
	}
	if err := json.Unmarshal(out, &st); err != nil {
		return 0, err
	}
	return st.Pid, nil
}
