package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// A VM with Limits.FsMiB keeps its writable layer on an ext4 filesystem of
// that size: a sparse image file (vms/<id>/disk.img) loop-mounted at
// vms/<id>/disk, holding the overlay's upper and work directories. Writes
// past the size get ENOSPC inside the VM while versd and other VMs carry
// on, and `df /` in the VM shows the VM's own size.

func (m *Manager) diskImage(id string) string { return filepath.Join(m.vmDir(id), "disk.img") }
func (m *Manager) diskMount(id string) string { return filepath.Join(m.vmDir(id), "disk") }

// prepareWritable readies the directory holding the VM's upper/ and work/
// and returns it relative to DataDir (the overlay is mounted from there).
func (m *Manager) prepareWritable(id string, lim Limits) (string, error) {
	dir := m.vmDir(id)
	// Leftover of a commit that crashed while copying out of the image.
	if err := os.RemoveAll(filepath.Join(dir, "upper.tmp")); err != nil {
		return "", err
	}
	if lim.FsMiB <= 0 && !fileExists(m.diskImage(id)) {
		return filepath.Join("vms", id), nil
	}
	img, mnt := m.diskImage(id), m.diskMount(id)
	if !fileExists(img) {
		if err := makeDiskImage(img, lim.FsMiB); err != nil {
			return "", err
		}
	}
	if !isMountPoint(mnt) {
		if err := os.MkdirAll(mnt, 0o700); err != nil {
			return "", err
		}
		if err := mountImage(img, mnt); err != nil {
			return "", fmt.Errorf("sandbox: VM %s: mounting its disk image: %w", id, err)
		}
	}
	upper := filepath.Join(mnt, "upper")
	hostUpper := filepath.Join(dir, "upper")
	if _, err := os.Lstat(hostUpper); err == nil {
		if fileExists(upper) {
			// A commit copied the upper out and crashed before dropping the
			// image: the image is complete, the copy is not needed.
			if err := os.RemoveAll(hostUpper); err != nil {
				return "", err
			}
		} else {
			// A writable layer from before the VM had a disk image (or one
			// a commit recovery gave back): move it onto the image.
			if err := copyTree(hostUpper, upper); err != nil {
				return "", fmt.Errorf("sandbox: VM %s: moving its writable layer onto its disk: %w", id, err)
			}
			if err := os.RemoveAll(hostUpper); err != nil {
				return "", err
			}
		}
	}
	if err := os.MkdirAll(upper, 0o755); err != nil {
		return "", err
	}
	if err := os.Lchown(upper, hostIDBase, hostIDBase); err != nil {
		return "", err
	}
	if err := os.RemoveAll(filepath.Join(mnt, "work")); err != nil {
		return "", err
	}
	if err := os.Mkdir(filepath.Join(mnt, "work"), 0o700); err != nil {
		return "", err
	}
	// lost+found would show up in the VM's root.
	_ = os.Remove(filepath.Join(mnt, "lost+found"))
	return filepath.Join("vms", id, "disk"), nil
}

// makeDiskImage creates a sparse ext4 image of mib MiB. No journal (the
// writable layer is synced before commits; a crash loses what a crash
// loses) and lazy init keep mkfs to a few milliseconds.
func makeDiskImage(img string, mib int64) error {
	f, err := os.OpenFile(img+".tmp", os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Truncate(mib << 20); err != nil {
		f.Close()
		return err
	}
	f.Close()
	out, err := exec.Command("mkfs.ext4", "-q", "-F", "-m", "0", "-O", "^has_journal",
		"-E", "lazy_itable_init=1,root_owner="+strconv.Itoa(hostIDBase)+":"+strconv.Itoa(hostIDBase),
		img+".tmp").CombinedOutput()
	if err != nil {
		os.Remove(img + ".tmp")
		if errors.Is(err, exec.ErrNotFound) {
			return errors.New("sandbox: mkfs.ext4 not found; run `apt-get install e2fsprogs` (make deps does)")
		}
		return fmt.Errorf("sandbox: mkfs.ext4: %v: %s", err, bytes.TrimSpace(out))
	}
	return os.Rename(img+".tmp", img)
}

// takeUpperOffDisk moves a stopped VM's writable layer off its disk image
// into vms/<id>/upper, where a commit can rename it into a layer, and drops
// the image; the next start makes a fresh one. A VM without an image is left
// alone.
func (m *Manager) takeUpperOffDisk(id string) error {
	img, mnt := m.diskImage(id), m.diskMount(id)
	if !fileExists(img) {
		return nil
	}
	dir := m.vmDir(id)
	if !isMountPoint(mnt) {
		if err := mountImage(img, mnt); err != nil {
			return fmt.Errorf("sandbox: VM %s: mounting its disk image: %w", id, err)
		}
	}
	tmp := filepath.Join(dir, "upper.tmp")
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := copyTree(filepath.Join(mnt, "upper"), tmp); err != nil {
		return fmt.Errorf("sandbox: VM %s: copying its writable layer off its disk: %w", id, err)
	}
	unix.Sync()
	if err := os.Rename(tmp, filepath.Join(dir, "upper")); err != nil {
		return err
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	return m.dropDisk(id)
}

// dropDisk unmounts and deletes a VM's disk image.
func (m *Manager) dropDisk(id string) error {
	mnt := m.diskMount(id)
	unmountUnder(mnt)
	if err := os.Remove(m.diskImage(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.RemoveAll(mnt)
}

func isMountPoint(p string) bool {
	var st, parent unix.Stat_t
	if unix.Lstat(p, &st) != nil || unix.Lstat(filepath.Dir(p), &parent) != nil {
		return false
	}
	return st.Dev != parent.Dev
}

// mountImage attaches img to a free loop device (auto-cleared when the
// filesystem is unmounted) and mounts its ext4 at mnt: the ioctls directly,
// which is much cheaper than running mount(8).
func mountImage(img, mnt string) error {
	f, err := os.OpenFile(img, os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer ctl.Close()
	for range 32 { // another process may take the free device first
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return fmt.Errorf("finding a free loop device: %w", err)
		}
		dev := fmt.Sprintf("/dev/loop%d", n)
		loop, err := os.OpenFile(dev, os.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		cfg := unix.LoopConfig{Fd: uint32(f.Fd())}
		cfg.Info.Flags = unix.LO_FLAGS_AUTOCLEAR
		err = unix.IoctlLoopConfigure(int(loop.Fd()), &cfg)
		if errors.Is(err, unix.EBUSY) {
			loop.Close()
			continue
		}
		if err != nil {
			loop.Close()
			return fmt.Errorf("configuring %s: %w", dev, err)
		}
		err = unix.Mount(dev, mnt, "ext4", unix.MS_NOSUID|unix.MS_NODEV, "")
		loop.Close() // with the mount holding it, autoclear waits for the unmount
		if err != nil {
			return fmt.Errorf("mounting %s: %w", dev, err)
		}
		return nil
	}
	return errors.New("no free loop device")
}
