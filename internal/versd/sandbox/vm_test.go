package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// forEachMode runs a test on a fresh Manager. (There used to be a full-copy
// mode without overlayfs; runc VMs always use overlayfs.)
func forEachMode(t *testing.T, test func(t *testing.T, m *Manager)) {
	test(t, newTestManager(t))
}

func TestCommitThenBranchSeesFiles(t *testing.T) {
	forEachMode(t, func(t *testing.T, m *Manager) {
		startVM(t, m, "a")
		mustSucceed(t, m, "a", "echo v1 > /root/app.txt && mkdir -p /srv/data && echo keep > /srv/data/f")
		stack, err := m.Commit(context.Background(), "a", false)
		if err != nil {
			t.Fatalf("Commit: %v", err)
		}
		if len(stack) != 2 || stack[0] != m.BaseLayer() {
			t.Fatalf("stack = %v, want [base, new]", stack)
		}
		if state, _ := m.State("a"); state != "running" {
			t.Fatalf("state after commit = %q, want running", state)
		}
		// The committed VM continues with its files; a branch sees them too.
		if got := mustSucceed(t, m, "a", "cat /root/app.txt"); got != "v1\n" {
			t.Fatalf("a after commit: %q", got)
		}
		startVM(t, m, "b", stack...)
		if got := mustSucceed(t, m, "b", "cat /root/app.txt /srv/data/f"); got != "v1\nkeep\n" {
			t.Fatalf("b sees %q", got)
		}
		// The branch diverges: its writes are invisible to a.
		mustSucceed(t, m, "b", "echo b-only > /root/b.txt")
		if r := sh(t, m, "a", "test -e /root/b.txt"); r.code == 0 {
			t.Fatal("a sees a file b wrote after branching")
		}
	})
}

func TestDeletionsSurviveCommit(t *testing.T) {
	forEachMode(t, func(t *testing.T, m *Manager) {
		startVM(t, m, "a")
		mustSucceed(t, m, "a", "mkdir /d && touch /d/old && echo x > /gone")
		if _, err := m.Commit(context.Background(), "a", false); err != nil {
			t.Fatal(err)
		}
		// Delete files of a lower layer, replace a directory wholesale.
		mustSucceed(t, m, "a", "rm /gone /etc/hostname && rm -r /d && mkdir /d && touch /d/new")
		stack, err := m.Commit(context.Background(), "a", false)
		if err != nil {
			t.Fatal(err)
		}
		startVM(t, m, "b", stack...)
		got := mustSucceed(t, m, "b", "ls /d; test -e /gone && echo gone-exists; test -e /etc/hostname && echo hostname-exists; true")
		if got != "new\n" {
			t.Fatalf("after commit, b lists %q; want only /d/new", got)
		}
	})
}

// A stack committed with overlayfs must read the same through the copy
// fallback, which interprets whiteouts and opaque directories itself.
func TestPauseStopsProcesses(t *testing.T) {
	m := newTestManager(t)
	startVM(t, m, "p")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Exec(ctx, "p", ExecSpec{Command: []string{"sleep", "600"}}, nil, nil, nil)

	var sleepPID int
	waitFor(t, func() bool {
		sleepPID = hostPIDOf(t, m, "p", "sleep")
		return sleepPID != 0
	})
	if err := m.Pause("p"); err != nil {
		t.Fatalf("Pause: %v", err)
	}
	if state, err := m.State("p"); err != nil || state != "paused" {
		t.Fatalf("State = %q, %v; want paused", state, err)
	}
	// The freezer cgroup shows frozen tasks as D (cgroup v1) or T.
	if s := procState(t, sleepPID); s != "T" && s != "D" {
		t.Fatalf("sleep is in state %q while paused, want frozen (D or T)", s)
	}
	if _, err := m.Exec(ctx, "p", ExecSpec{Command: []string{"true"}}, nil, nil, nil); !errors.Is(err, ErrPaused) {
		t.Fatalf("Exec while paused: err = %v, want ErrPaused", err)
	}
	if err := m.Resume("p"); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	if s := procState(t, sleepPID); s == "T" {
		t.Fatal("sleep is still stopped after Resume")
	}
	if state, _ := m.State("p"); state != "running" {
		t.Fatalf("State after resume = %q", state)
	}
}

func TestCommitKeepPaused(t *testing.T) {
	m := newTestManager(t)
	startVM(t, m, "kp")
	if _, err := m.Commit(context.Background(), "kp", true); err != nil {
		t.Fatal(err)
	}
	if state, _ := m.State("kp"); state != "paused" {
		t.Fatalf("state = %q, want paused", state)
	}
}

func TestVMIsIsolatedFromHost(t *testing.T) {
	m := newTestManager(t)
	startVM(t, m, "iso")
	for _, hostPath := range []string{"/work", "/root/go", m.dataDir} {
		if _, err := os.Stat(hostPath); err != nil {
			continue // nothing to hide on this host
		}
		if r := sh(t, m, "iso", "test -e "+hostPath); r.code == 0 {
			t.Errorf("the VM sees host path %s", hostPath)
		}
	}
	pids := strings.Fields(mustSucceed(t, m, "iso", "cd /proc && for p in [0-9]*; do echo $p; done"))
	for _, p := range pids {
		if n, _ := strconv.Atoi(p); n > 50 {
			t.Errorf("the VM sees pid %d; only its own few processes should be visible (%v)", n, pids)
		}
	}
	if got := mustSucceed(t, m, "iso", "hostname"); got != "iso\n" {
		t.Errorf("hostname = %q, want iso", got)
	}
	if r := sh(t, m, "iso", "mount -t tmpfs none /mnt"); r.code == 0 {
		t.Error("root in the VM can mount filesystems")
	}
	// A file the VM writes is not on the host's /root.
	mustSucceed(t, m, "iso", "echo secret > /root/vm-only-file")
	if _, err := os.Stat("/root/vm-only-file"); err == nil {
		t.Error("a VM write reached the host's /root")
	}
}

func TestDeleteVMFreesWritableLayer(t *testing.T) {
	m := newTestManager(t)
	startVM(t, m, "del")
	mustSucceed(t, m, "del", "echo x > /root/x")
	if err := m.DeleteVM("del"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(m.vmDir("del")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("writable layer still on disk: %v", err)
	}
	if _, err := m.State("del"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("State after delete: %v, want ErrNotFound", err)
	}
	if err := m.DeleteVM("del"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second DeleteVM: %v, want ErrNotFound", err)
	}
}

func TestRestartKeepsLayersAndWritableLayer(t *testing.T) {
	dir := t.TempDir()
	m1 := newTestManagerAt(t, dir)
	startVM(t, m1, "r")
	mustSucceed(t, m1, "r", "echo committed > /c")
	stack, err := m1.Commit(context.Background(), "r", false)
	if err != nil {
		t.Fatal(err)
	}
	mustSucceed(t, m1, "r", "echo uncommitted > /u")
	base := m1.BaseLayer()
	m1.Close()

	m2 := newTestManagerAt(t, dir)
	if m2.BaseLayer() != base {
		t.Fatalf("base layer changed across restart: %s → %s", base, m2.BaseLayer())
	}
	layers, err := m2.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range stack {
		if !slices.Contains(layers, id) {
			t.Fatalf("layer %s missing after restart (have %v)", id, layers)
		}
	}
	if _, err := m2.State("r"); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("State before StartVM: %v, want ErrNotRunning", err)
	}
	startVM(t, m2, "r", stack...)
	if got := mustSucceed(t, m2, "r", "cat /c /u"); got != "committed\nuncommitted\n" {
		t.Fatalf("after restart the VM has %q", got)
	}
}

func TestDeleteLayers(t *testing.T) {
	m := newTestManager(t)
	startVM(t, m, "gc")
	stack, err := m.Commit(context.Background(), "gc", false)
	if err != nil {
		t.Fatal(err)
	}
	top := stack[len(stack)-1]
	if err := m.DeleteLayers(m.BaseLayer()); err == nil {
		t.Fatal("deleting the base layer succeeded")
	}
	if err := m.DeleteLayers(top); err == nil {
		t.Fatal("deleting a layer a running VM uses succeeded")
	}
	if err := m.DeleteVM("gc"); err != nil {
		t.Fatal(err)
	}
	if err := m.DeleteLayers(top); err != nil {
		t.Fatal(err)
	}
	layers, _ := m.Layers()
	if slices.Contains(layers, top) || !slices.Contains(layers, m.BaseLayer()) {
		t.Fatalf("layers after delete: %v", layers)
	}
	if err := m.StartVM(context.Background(), "gc2", stack); !errors.Is(err, ErrNotFound) {
		t.Fatalf("StartVM on a deleted layer: %v, want ErrNotFound", err)
	}
}

func TestImportedBaseRootfs(t *testing.T) {
	src := t.TempDir()
	m0 := newTestManager(t) // borrow busybox's tree as a user-supplied root
	if err := copyTree(m0.layerRoot(m0.BaseLayer()), src); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "etc/marker"), []byte("imported\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := New(Options{DataDir: t.TempDir(), BaseRootfs: src, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	startVM(t, m, "imp")
	if got := mustSucceed(t, m, "imp", "cat /etc/marker"); got != "imported\n" {
		t.Fatalf("marker = %q", got)
	}
}

// hostPIDOf finds, from the host, a process named comm inside the VM.
func hostPIDOf(t *testing.T, m *Manager, id, comm string) int {
	t.Helper()
	initPID, err := m.initPID(id)
	if err != nil {
		t.Fatal(err)
	}
	agentNS, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", initPID))
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		name, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		ns, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
		if strings.TrimSpace(string(name)) == comm && ns == agentNS {
			return pid
		}
	}
	return 0
}

// procState is the one-letter state from /proc/<pid>/stat.
func procState(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return fields[0]
}

// Shared scratch directories keep the sticky bit, so one user cannot delete
// another's files in /tmp (builds that switch USER rely on it).
func TestBaseRootTmpIsSticky(t *testing.T) {
	forEachMode(t, func(t *testing.T, m *Manager) {
		startVM(t, m, "a")
		if got := strings.TrimSpace(mustSucceed(t, m, "a", "stat -c %a /tmp /var/tmp")); got != "1777\n1777" {
			t.Fatalf("modes of /tmp and /var/tmp = %q, want 1777 twice", got)
		}
	})
}
