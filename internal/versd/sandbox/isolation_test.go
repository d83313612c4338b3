package sandbox

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/pkg/sftp"
	"golang.org/x/sys/unix"
)

// The isolation suite: each test is an attack from issue 11 that must fail.

// probeEnv makes the test binary, run inside a VM from the agent's files,
// perform one system-call probe and exit (see probe).
const probeEnv = "VERSD_SANDBOX_TEST_PROBE"

func init() {
	if p, ok := os.LookupEnv(probeEnv); ok {
		os.Exit(probe(p))
	}
}

// probe runs inside a VM. It prints what happened and exits 0 on success.
func probe(what string) int {
	switch {
	case strings.HasPrefix(what, "addkey:"):
		desc := strings.TrimPrefix(what, "addkey:")
		_, err := unix.AddKey("user", desc, []byte("vm-secret"), unix.KEY_SPEC_SESSION_KEYRING)
		fmt.Println("add_key:", err)
		if err != nil {
			return 1
		}
		return 0
	case strings.HasPrefix(what, "fill:"):
		files, _ := strconv.Atoi(strings.TrimPrefix(what, "fill:"))
		return fillKernelCounts(files)
	}
	return 2
}

// runProbe runs the test binary inside VM id as a probe.
func runProbe(t *testing.T, m *Manager, id, what string) execResult {
	t.Helper()
	argv := agentArgs(fileExists(filepath.Join(m.agentDir, "ld.so")))
	return run(t, m, id, ExecSpec{Command: argv, Env: map[string]string{probeEnv: what}}, "")
}

func startVMWith(t *testing.T, m *Manager, id string, lim Limits) {
	t.Helper()
	if err := m.StartVM(context.Background(), id, []string{m.BaseLayer()}, lim); err != nil {
		t.Fatalf("StartVM %s: %v", id, err)
	}
}

func sftpClient(t *testing.T, m *Manager, id string) *sftp.Client {
	t.Helper()
	rw, err := m.SFTP(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	c, err := sftp.NewClientPipe(rw, rw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// SFTP runs inside the VM as the VM's root: it can read and write the VM's
// files, and it cannot open the VM init's memory (the attack that let a
// leaked VM key write shellcode into the agent).
func TestSFTPCannotWriteInitMemory(t *testing.T) {
	m := newTestManager(t)
	startVM(t, m, "s")
	c := sftpClient(t, m, "s")
	f, err := c.Create("/root/up")
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("via sftp"))
	f.Close()
	if got := mustSucceed(t, m, "s", "cat /root/up; stat -c %u /root/up"); got != "via sftp0\n" {
		t.Fatalf("VM sees %q; want the file owned by its root", got)
	}
	for _, p := range []string{"/proc/1/mem", "/proc/1/environ", "/proc/1/maps"} {
		if f, err := c.OpenFile(p, os.O_RDWR); err == nil {
			f.Close()
			t.Errorf("SFTP opened %s read-write", p)
		}
		if f, err := c.Open(p); err == nil {
			b, _ := io.ReadAll(f)
			f.Close()
			if len(b) > 0 {
				t.Errorf("SFTP read %d bytes of %s", len(b), p)
			}
		}
	}
}

// Nothing a VM can read names host paths: not its init's environment, not
// its mount table.
func TestNoHostPathsVisible(t *testing.T) {
	m := newTestManager(t)
	startVM(t, m, "h")
	out := mustSucceed(t, m, "h", "cat /proc/mounts /proc/self/mountinfo; cat /proc/1/environ 2>/dev/null | tr '\\0' '\\n'; cat /proc/self/cgroup")
	for _, hostPath := range []string{m.dataDir, m.runDir, "/work/", "/tmp/", "=/"} {
		if strings.Contains(out, hostPath) {
			t.Errorf("the VM sees host path %s:\n%s", hostPath, out)
		}
	}
}

// A key the VM adds is not on the host's keyrings (seccomp refuses add_key,
// and runc gives every VM a session keyring of its own anyway).
func TestKeyringNotShared(t *testing.T) {
	m := newTestManager(t)
	startVM(t, m, "k")
	desc := "versd-vm-key-" + strconv.Itoa(os.Getpid())
	r := runProbe(t, m, "k", "addkey:"+desc)
	t.Logf("probe: %s", r.stdout)
	keys, err := os.ReadFile("/proc/keys")
	if err != nil {
		t.Skip("no /proc/keys on this host")
	}
	if strings.Contains(string(keys), desc) {
		t.Fatalf("the key the VM added is visible to host root")
	}
}

// mem_size_mib is a hard limit: a process past it is killed, the VM lives.
func TestMemoryLimitKills(t *testing.T) {
	m := newTestManager(t)
	startVMWith(t, m, "mem", Limits{MemMiB: 64})
	r := sh(t, m, "mem", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived ${#x}")
	if r.code == 0 || strings.Contains(r.stdout, "survived") {
		t.Fatalf("a 200 MB allocation in a 64 MiB VM was not killed: %+v", r)
	}
	mustSucceed(t, m, "mem", "true")
}

// The pids limit bounds a fork bomb; the VM and the host carry on.
func TestPidsBounded(t *testing.T) {
	m := newTestManager(t)
	startVMWith(t, m, "pids", Limits{Pids: 40})
	sh(t, m, "pids", "i=0; while [ $i -lt 100 ]; do sleep 30 & i=$((i+1)); done 2>/dev/null; true")
	b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/pids", m.cgroupParent, "pids", "pids.current"))
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n == 0 || n > 40 {
		t.Fatalf("the VM holds %d processes (%v), want at most 40", n, err)
	}
	if err := m.DeleteVM("pids"); err != nil {
		t.Fatal(err)
	}
}

// vcpu_count becomes a CFS quota of that many CPUs.
func TestCPUQuota(t *testing.T) {
	m := newTestManager(t)
	startVMWith(t, m, "cpu", Limits{VCPUs: 1})
	for _, d := range []string{filepath.Join("/sys/fs/cgroup/cpu", m.cgroupParent, "cpu"), filepath.Join("/sys/fs/cgroup", m.cgroupParent, "cpu")} {
		if b, err := os.ReadFile(filepath.Join(d, "cpu.cfs_quota_us")); err == nil {
			if strings.TrimSpace(string(b)) != "100000" {
				t.Fatalf("cpu.cfs_quota_us = %s, want 100000", b)
			}
			return
		}
		if b, err := os.ReadFile(filepath.Join(d, "cpu.max")); err == nil {
			if !strings.HasPrefix(string(b), "100000 ") {
				t.Fatalf("cpu.max = %s, want a 100000 quota", b)
			}
			return
		}
	}
	t.Fatal("no cpu cgroup found for the VM")
}

// Two VMs that take every per-user kernel count they can (inotify
// instances across many VM uids, inotify watches, POSIX message queue bytes,
// fanotify groups, queued signals) leave host root its own: each VM's user
// namespace is owned by a uid of its own (newOwner), so the kernel charges
// that uid instead of host root. Each VM also gets the whole per-user budget,
// so neither VM eats into the other's.
func TestInotifyDoesNotStarveHost(t *testing.T) {
	maxInstances := readSysctl(t, "fs/inotify/max_user_instances")
	maxWatches := readSysctl(t, "fs/inotify/max_user_watches")
	// An instance host root holds from before, to add a watch to later:
	// watches are charged apart from instances.
	hostFd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(hostFd)
	m := newTestManager(t)
	startVM(t, m, "ino1")
	startVM(t, m, "ino2")
	// Files to watch: enough for 16 instances to reach the host's per-user
	// watch limit. Fewer instances per file keep it fast: the kernel walks
	// an inode's marks on every add, and closing an instance with marks
	// waits for an SRCU grace period.
	files := maxWatches/16 + 1
	reports := make([]fillReport, 2)
	release := make([]func(), 2)
	var wg sync.WaitGroup
	for i, id := range []string{"ino1", "ino2"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reports[i], release[i] = startFill(t, m, id, files)
			if release[i] == nil {
				t.Errorf("fill probe in %s did not report", id)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	defer func() {
		for _, stop := range release {
			if stop != nil {
				stop()
			}
		}
	}()
	for i, r := range reports {
		t.Logf("VM %d holds %+v", i+1, r)
		// The VM went as far as it could: the last uid it tried got no
		// instance, and it stopped at the watch limit.
		if r.Instances != maxInstances || !strings.Contains(r.InstancesErr, "too many open files") {
			t.Errorf("VM %d: %d inotify instances over %d uids (%s), want the per-user limit %d for the whole VM",
				i+1, r.Instances, r.Euids, r.InstancesErr, maxInstances)
		}
		if r.Watches != maxWatches || !strings.Contains(r.WatchesErr, "no space left") {
			t.Errorf("VM %d: %d inotify watches (%s), want the per-user limit %d", i+1, r.Watches, r.WatchesErr, maxWatches)
		}
		if r.MQueueErr == "" || r.SignalsErr == "" || r.FanotifyErr == "" {
			t.Errorf("VM %d was not stopped by a limit: %+v", i+1, r)
		}
	}
	hostCanStillUse(t, hostFd)
	t0 := time.Now()
	for i, stop := range release {
		stop()
		release[i] = nil
	}
	t.Logf("release took %v", time.Since(t0))
}

// readSysctl reads an integer under /proc/sys.
func readSysctl(t *testing.T, name string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/" + name)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// hostCanStillUse checks, as host root, each per-user count the VMs filled.
func hostCanStillUse(t *testing.T, inotifyFd int) {
	if fd, err := unix.InotifyInit1(unix.IN_CLOEXEC); err != nil {
		t.Errorf("host root cannot create an inotify instance: %v", err)
	} else {
		unix.Close(fd)
	}
	if _, err := unix.InotifyAddWatch(inotifyFd, t.TempDir(), unix.IN_CREATE); err != nil {
		t.Errorf("host root cannot add an inotify watch: %v", err)
	}
	name := fmt.Sprintf("versd-test-%d", os.Getpid())
	if mq, err := mqOpen(name); err != nil {
		t.Errorf("host root cannot create a POSIX message queue: %v", err)
	} else {
		unix.Close(mq)
		mqUnlink(name)
	}
	if fa, err := unix.FanotifyInit(unix.FAN_CLASS_NOTIF, unix.O_RDONLY); err != nil {
		t.Errorf("host root cannot create a fanotify group: %v", err)
	} else {
		unix.Close(fa)
	}
	// A queued signal to this thread, blocked so it stays pending; once
	// unblocked the Go runtime drops it (no signal.Notify for it). The
	// thread is unlocked again, never ended.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var set, old unix.Sigset_t
	sigsetAdd(&set, fillSignal)
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &set, &old); err != nil {
		t.Fatal(err)
	}
	defer unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
	if err := queueSignalToSelf(); err != nil {
		t.Errorf("host root cannot queue a signal: %v", err)
	}
}

// startFill runs the fill probe in VM id and returns what it holds once it
// holds it; stop makes the probe let go and waits for it. A probe that
// fails is reported with t.Errorf and returns a nil stop (startFill runs on
// other goroutines than the test's).
func startFill(t *testing.T, m *Manager, id string, files int) (fillReport, func()) {
	t.Helper()
	argv := agentArgs(fileExists(filepath.Join(m.agentDir, "ld.so")))
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	var stderr strings.Builder
	done := make(chan error, 1)
	go func() {
		code, err := m.Exec(context.Background(), id, ExecSpec{Command: argv, Env: map[string]string{probeEnv: "fill:" + strconv.Itoa(files)}}, inR, outW, &stderr)
		if err == nil && code != 0 {
			err = fmt.Errorf("exit code %d", code)
		}
		outW.CloseWithError(fmt.Errorf("the probe ended: %v", err))
		done <- err
	}()
	stop := func() {
		inW.Close()
		if err := <-done; err != nil {
			t.Errorf("fill probe in %s: %v (stderr %q)", id, err, stderr.String())
		}
	}
	var r fillReport
	line, err := bufio.NewReader(outR).ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &r)
	}
	if err != nil {
		inW.Close()
		<-done
		t.Errorf("fill probe in %s: %v (stderr %q)", id, err, stderr.String())
		return r, nil
	}
	go io.Copy(io.Discard, outR)
	return r, stop
}

// fillReport is what the fill probe holds, and the error that stopped each
// part of it.
type fillReport struct {
	Instances, Euids int
	InstancesErr     string
	Watches          int
	WatchesErr       string
	MQueues          int
	MQueueErr        string
	Fanotify         int
	FanotifyErr      string
	Signals          int
	SignalsErr       string
	Took             map[string]string
}

// fillSignal is a real-time signal the Go runtime does not use.
const fillSignal = 40

// fillKernelCounts runs inside a VM as its root: it takes as much of every
// per-user kernel count as it can, prints a fillReport, and holds it all
// until stdin closes.
func fillKernelCounts(files int) int {
	r := fillReport{Took: map[string]string{}}
	t0 := time.Now()
	lap := func(what string) { r.Took[what] = time.Since(t0).String(); t0 = time.Now() }
	// The descriptor table must not be what stops it.
	var nofile unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &nofile) == nil {
		nofile.Cur = nofile.Max
		_ = unix.Setrlimit(unix.RLIMIT_NOFILE, &nofile)
	}
	// inotify instances count per uid in the VM's namespace, and VM root
	// may act as any of its uids: create them as root, then as uid 1000,
	// 1001, ... until one uid gets none.
	var instances []int
	for euid := 0; r.Euids < 1000; euid = 999 + r.Euids {
		if err := syscall.Setresuid(-1, euid, -1); err != nil {
			fmt.Fprintln(os.Stderr, "seteuid:", err)
			return 1
		}
		n := 0
		for ; ; n++ {
			fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
			if err != nil {
				r.InstancesErr = err.Error()
				break
			}
			instances = append(instances, fd)
		}
		if err := syscall.Setresuid(-1, 0, -1); err != nil {
			fmt.Fprintln(os.Stderr, "seteuid back:", err)
			return 1
		}
		r.Euids++
		r.Instances += n
		if n == 0 {
			break
		}
	}
	lap("instances")
	// Watches: every instance watches the same files until the kernel
	// refuses (a watch is one instance on one inode).
	dir, err := os.MkdirTemp("/dev/shm", "watched") // tmpfs: quick to fill with files
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	paths := make([]string, files)
	for i := range paths {
		paths[i] = filepath.Join(dir, strconv.Itoa(i))
		if err := os.WriteFile(paths[i], nil, 0o600); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	lap("files")
watches:
	for _, fd := range instances {
		for _, p := range paths {
			if _, err := unix.InotifyAddWatch(fd, p, unix.IN_MODIFY); err != nil {
				r.WatchesErr = err.Error()
				break watches
			}
			r.Watches++
		}
	}
	lap("watches")
	for ; r.MQueues < 10000; r.MQueues++ {
		fd, err := mqOpen(fmt.Sprintf("fill-%d", r.MQueues))
		if err != nil {
			r.MQueueErr = err.Error()
			break
		}
		_ = fd // held until exit
	}
	for ; r.Fanotify < 10000; r.Fanotify++ {
		if _, err := unix.FanotifyInit(unix.FAN_CLASS_NOTIF|unix.FAN_REPORT_FID, unix.O_RDONLY); err != nil {
			r.FanotifyErr = err.Error()
			break
		}
	}
	lap("mq+fanotify")
	// Queued signals stay pending on this thread, which blocks them; the
	// probe exits with the thread locked.
	runtime.LockOSThread()
	var set unix.Sigset_t
	sigsetAdd(&set, fillSignal)
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &set, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for ; r.Signals < 1<<22; r.Signals++ {
		if err := queueSignalToSelf(); err != nil {
			r.SignalsErr = err.Error()
			break
		}
	}
	lap("signals")
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// mqOpen creates a POSIX message queue with the default sizes (the
// kernel's mq_open takes the name without glibc's leading slash).
func mqOpen(name string) (int, error) {
	p, err := unix.BytePtrFromString(name)
	if err != nil {
		return -1, err
	}
	fd, _, e := unix.Syscall6(unix.SYS_MQ_OPEN, uintptr(unsafe.Pointer(p)), uintptr(unix.O_CREAT|unix.O_EXCL|unix.O_RDWR|unix.O_CLOEXEC), 0o600, 0, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

func mqUnlink(name string) {
	p, _ := unix.BytePtrFromString(name)
	unix.Syscall(unix.SYS_MQ_UNLINK, uintptr(unsafe.Pointer(p)), 0, 0)
}

func sigsetAdd(set *unix.Sigset_t, sig int) {
	set.Val[(sig-1)/64] |= 1 << ((sig - 1) % 64)
}

// queueSignalToSelf queues fillSignal to the calling thread with
// rt_tgsigqueueinfo, as sigqueue(3) does: a queued signal is charged to the
// receiver's pending-signal count.
func queueSignalToSelf() error {
	var info [128]byte
	binary.NativeEndian.PutUint32(info[0:], fillSignal)
	binary.NativeEndian.PutUint32(info[8:], uint32(0xffffffff)) // SI_QUEUE (-1)
	_, _, e := unix.RawSyscall6(unix.SYS_RT_TGSIGQUEUEINFO, uintptr(unix.Getpid()), uintptr(unix.Gettid()), fillSignal, uintptr(unsafe.Pointer(&info[0])), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// Nested user namespaces, mounts and the host's devices stay out of reach.
func TestEscapesDenied(t *testing.T) {
	m := newTestManager(t)
	startVM(t, m, "esc")
	for _, attack := range []string{
		"unshare -U true", "unshare -m true", "mount -t tmpfs none /mnt",
		"mknod /tmp/sda b 8 0 && head -c1 /tmp/sda", "echo 1 > /proc/sys/kernel/sysrq",
		"cat /proc/kcore | head -c1 | grep -q .", "ls -A /sys/firmware | grep -q .",
	} {
		if r := sh(t, m, "esc", attack); r.code == 0 {
			t.Errorf("%q succeeded in a VM", attack)
		}
	}
	if got := mustSucceed(t, m, "esc", "id -u; cat /proc/self/uid_map"); !strings.Contains(got, strconv.Itoa(hostIDBase)) {
		t.Errorf("VM root is not mapped to host id %d: %q", hostIDBase, got)
	}
}

// Signals from inside cannot take the init down unnoticed: the agent
// ignores them, and an init that dies anyway (killed from the host here)
// makes the VM dead at once, with exec and SFTP refused.
func TestInitDeathIsReported(t *testing.T) {
	m := newTestManager(t)
	startVM(t, m, "d")
	sh(t, m, "d", "kill -HUP 1; kill -TERM 1; kill -INT 1; sleep 0.2")
	if got := mustSucceed(t, m, "d", "echo alive"); got != "alive\n" {
		t.Fatalf("after signals to init: %q", got)
	}
	rw, err := m.SFTP(context.Background(), "d")
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	pid, err := m.initPID("d")
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Kill(pid, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for {
		state, _ := m.State("d")
		if state == "dead" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("state %q one second after init died, want dead", state)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := m.Exec(context.Background(), "d", ExecSpec{Command: []string{"true"}}, nil, nil, nil); !errors.Is(err, ErrDead) {
		t.Fatalf("Exec on a dead VM: %v, want ErrDead", err)
	}
	// The open SFTP stream of the dead VM ends instead of hanging.
	readDone := make(chan error, 1)
	go func() { _, err := rw.Read(make([]byte, 1)); readDone <- err }()
	select {
	case err := <-readDone:
		if err == nil {
			t.Fatal("read from a dead VM's SFTP stream returned data")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a dead VM's SFTP stream stays open")
	}
	if err := m.DeleteVM("d"); err != nil {
		t.Fatalf("DeleteVM of a dead VM: %v", err)
	}
}

// bash is in the base root: the official CLI runs `bash -c`.
func TestBashInBaseRoot(t *testing.T) {
	m := newTestManager(t)
	startVM(t, m, "b")
	r := run(t, m, "b", ExecSpec{Command: []string{"bash", "-c", "echo ${BASH_VERSION%%.*}"}}, "")
	if r.code != 0 || strings.TrimSpace(r.stdout) == "" {
		t.Fatalf("bash -c: %+v", r)
	}
}

// fs_size_mib bounds the writable layer: writing past it gets ENOSPC in the
// VM, `df /` shows the VM's own size, and the VM's files survive a commit.
func TestDiskLimit(t *testing.T) {
	m := newTestManager(t)
	startVMWith(t, m, "disk", Limits{FsMiB: 64})
	mustSucceed(t, m, "disk", "echo keep > /root/keep")
	r := sh(t, m, "disk", "dd if=/dev/zero of=/root/big bs=1M count=200 2>&1; echo rc=$?")
	if !strings.Contains(r.stdout, "No space left on device") || strings.Contains(r.stdout, "rc=0") {
		t.Fatalf("a 200 MiB write into a 64 MiB disk: %q", r.stdout)
	}
	df := mustSucceed(t, m, "disk", "df -m / | tail -1")
	if f := strings.Fields(df); len(f) < 2 || f[1] == "" {
		t.Fatalf("df: %q", df)
	} else if size, _ := strconv.Atoi(f[1]); size > 64 || size == 0 {
		t.Fatalf("df shows %d MiB for /, want the VM's 64: %q", size, df)
	}
	mustSucceed(t, m, "disk", "rm /root/big")
	stack, err := m.Commit(context.Background(), "disk", false)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustSucceed(t, m, "disk", "cat /root/keep"); got != "keep\n" {
		t.Fatalf("after commit /root/keep = %q", got)
	}
	startVMWith(t, m, "disk2", Limits{FsMiB: 32})
	if err := m.DeleteVM("disk2"); err != nil {
		t.Fatal(err)
	}
	if err := m.StartVM(context.Background(), "branch", stack, Limits{FsMiB: 64}); err != nil {
		t.Fatal(err)
	}
	if got := mustSucceed(t, m, "branch", "cat /root/keep"); got != "keep\n" {
		t.Fatalf("branch /root/keep = %q", got)
	}
}
