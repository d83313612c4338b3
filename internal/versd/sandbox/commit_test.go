package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// RecoverCommit settles each point a crash can interrupt CommitAs at.
func TestRecoverCommitAtEachCrashPoint(t *testing.T) {
	m := newTestManager(t)
	vmUpper := filepath.Join(m.vmDir("v"), "upper")
	reset := func() {
		t.Helper()
		os.RemoveAll(m.vmDir("v"))
		if err := os.MkdirAll(vmUpper, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(vmUpper, "acked"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	id, err := m.NewLayerID()
	if err != nil {
		t.Fatal(err)
	}
	staging := m.commitStaging(id)

	// Killed while layer.json was being written: nothing moved.
	reset()
	if err := os.Mkdir(staging, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(staging, layerMetaFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if published, err := m.RecoverCommit("v", id); err != nil || published {
		t.Fatalf("half-written metadata: published=%v err=%v", published, err)
	}
	assertFile(t, filepath.Join(vmUpper, "acked"))
	assertGone(t, staging)

	// Killed between the two renames: the data goes back to the VM.
	reset()
	if err := m.stageCommit(vmUpper, id, m.BaseLayer()); err != nil {
		t.Fatal(err)
	}
	// stageCommit finished both renames; undo the second to model the crash.
	if err := os.Rename(m.layerDir(id), staging); err != nil {
		t.Fatal(err)
	}
	if published, err := m.RecoverCommit("v", id); err != nil || published {
		t.Fatalf("staged: published=%v err=%v", published, err)
	}
	assertFile(t, filepath.Join(vmUpper, "acked"))
	assertGone(t, staging)

	// Killed after the layer was published: the commit is to be finished.
	reset()
	if err := m.stageCommit(vmUpper, id, m.BaseLayer()); err != nil {
		t.Fatal(err)
	}
	if published, err := m.RecoverCommit("v", id); err != nil || !published {
		t.Fatalf("published: published=%v err=%v", published, err)
	}
	assertFile(t, filepath.Join(m.layerRoot(id), "acked"))
}

func assertFile(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("acknowledged data missing: %v", err)
	}
}

func assertGone(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Lstat(p); !os.IsNotExist(err) {
		t.Fatalf("%s is left behind (%v)", p, err)
	}
}

// A VM with a disk image commits without copying its writable layer: the
// image itself becomes the layer, mounted read-only wherever it is a lower
// layer, across restarts, until the layer is deleted.
func TestDiskCommitKeepsTheImageAsTheLayer(t *testing.T) {
	dir := t.TempDir()
	m := newTestManagerAt(t, dir)
	ctx := context.Background()
	startVMWith(t, m, "d", Limits{FsMiB: 64})
	mustSucceed(t, m, "d", "echo keep > /root/keep && rm /etc/hostname && mkdir -p /srv && touch /srv/x")
	stack, err := m.Commit(ctx, "d", false)
	if err != nil {
		t.Fatal(err)
	}
	top := stack[len(stack)-1]
	assertFile(t, filepath.Join(m.layerDir(top), layerImageFile))
	if !isMountPoint(m.layerRoot(top)) {
		t.Fatal("the committed layer's image is not mounted at its root/")
	}
	if err := os.WriteFile(filepath.Join(m.layerRoot(top), "w"), nil, 0o644); err == nil {
		t.Fatal("a committed layer is writable from the host")
	}
	check := func(m *Manager, id string) {
		t.Helper()
		got := mustSucceed(t, m, id, "cat /root/keep; ls /srv; test -e /etc/hostname && echo hostname-back; true")
		if got != "keep\nx\n" {
			t.Fatalf("%s sees %q after the commit", id, got)
		}
	}
	check(m, "d")
	// The VM goes on with a fresh, writable disk over the layer.
	mustSucceed(t, m, "d", "echo more > /root/more && rm /root/keep")
	startVM(t, m, "branch", stack...)
	check(m, "branch")

	// After a restart the layer is mounted again when a VM needs it.
	m.Close()
	m = newTestManagerAt(t, dir)
	if isMountPoint(m.layerRoot(top)) {
		t.Fatal("a layer image stayed mounted across Close and New")
	}
	startVM(t, m, "after", stack...)
	check(m, "after")
	for _, id := range []string{"after", "d", "branch"} {
		if err := m.DeleteVM(id); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.DeleteLayers(top); err != nil {
		t.Fatal(err)
	}
	assertGone(t, m.layerDir(top))
}

// A commit of a VM with a disk image that crashed after the image moved
// into the staging directory gives the VM its disk back.
func TestRecoverDiskCommit(t *testing.T) {
	m := newTestManager(t)
	startVMWith(t, m, "v", Limits{FsMiB: 64})
	mustSucceed(t, m, "v", "echo acked > /root/acked")
	v, err := m.running("v")
	if err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	delete(m.vms, "v")
	m.mu.Unlock()
	m.stopVM(v)
	if err := m.sealDisk("v"); err != nil {
		t.Fatal(err)
	}
	id, err := m.NewLayerID()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.stageCommit(m.diskImage("v"), id, m.BaseLayer()); err != nil {
		t.Fatal(err)
	}
	// Undo the publishing rename to model a crash between the two renames.
	if err := os.Rename(m.layerDir(id), m.commitStaging(id)); err != nil {
		t.Fatal(err)
	}
	if published, err := m.RecoverCommit("v", id); err != nil || published {
		t.Fatalf("staged image: published=%v err=%v", published, err)
	}
	assertGone(t, m.commitStaging(id))
	startVMWith(t, m, "v", Limits{FsMiB: 64})
	if got := mustSucceed(t, m, "v", "cat /root/acked"); got != "acked\n" {
		t.Fatalf("after recovery the VM has %q", got)
	}
}

// A VM whose disk image was being copied when versd was killed starts.
func TestDiskCopyLeftoverOfACrash(t *testing.T) {
	m := newTestManager(t)
	if err := os.MkdirAll(m.vmDir("v"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(m.diskImage("v")+".tmp", []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	startVMWith(t, m, "v", Limits{FsMiB: 64})
	mustSucceed(t, m, "v", "echo ok > /root/ok")
}

// sealDisk waits for the loop device to let go of the image, also when the
// data directory's path goes through a symlink (the kernel shows the
// resolved path).
func TestWaitLoopDetachedSeesThroughSymlinks(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	img, mnt := filepath.Join(link, "d.img"), filepath.Join(dir, "m")
	if err := makeDiskImage(img, 16); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := mountImage(img, mnt); err != nil {
		t.Fatal(err)
	}
	defer unix.Unmount(mnt, unix.MNT_DETACH)
	var st unix.Stat_t
	if err := unix.Stat(mnt, &st); err != nil {
		t.Fatal(err)
	}
	if err := waitLoopDetached(st.Dev, img); err == nil {
		t.Fatal("waitLoopDetached returned while the image was still mounted")
	}
	if err := unix.Unmount(mnt, 0); err != nil {
		t.Fatal(err)
	}
	if err := waitLoopDetached(st.Dev, img); err != nil {
		t.Fatal(err)
	}
}

// A commit that fails before its layer exists leaves the VM running on its
// old stack, with its files: not stopped while the API still reports it
// running.
func TestFailedCommitKeepsTheVMRunning(t *testing.T) {
	m := newTestManager(t)
	ctx := context.Background()
	for _, lim := range []Limits{{}, {FsMiB: 64}} {
		id := fmt.Sprintf("fail-%d", lim.FsMiB)
		startVMWith(t, m, id, lim)
		mustSucceed(t, m, id, "echo kept > /root/kept")
		// The layer id is taken, so publishing the staged layer fails.
		taken := fmt.Sprintf("dead%04x", lim.FsMiB)
		if err := os.MkdirAll(filepath.Join(m.layerDir(taken), "x"), 0o700); err != nil {
			t.Fatal(err)
		}
		if _, err := m.CommitAs(ctx, id, taken, false); err == nil {
			t.Fatalf("%s: commit onto a taken layer id succeeded", id)
		}
		if got := mustSucceed(t, m, id, "cat /root/kept"); got != "kept\n" {
			t.Fatalf("%s: after the failed commit the VM sees %q", id, got)
		}
	}
}
