package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

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
	// Leftover of a commit by an older versd, which copied the writable
	// layer off the image, that crashed while copying.
	if err := os.RemoveAll(filepath.Join(dir, "upper.tmp")); err != nil {
		return "", err
	}
	if lim.FsMiB <= 0 && !fileExists(m.diskImage(id)) {
		return filepath.Join("vms", id), nil
	}
	img, mnt := m.diskImage(id), m.diskMount(id)
	if !fileExists(img) {
		tmpl, err := m.diskTemplate(lim.FsMiB)
		if err != nil {
			return "", err
		}
		// A crash may have left a partial copy.
		if err := os.Remove(img + ".tmp"); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		if err := copySparse(tmpl, img+".tmp"); err != nil {
			os.Remove(img + ".tmp")
			return "", fmt.Errorf("sandbox: VM %s: copying its empty disk image: %w", id, err)
		}
		if err := os.Rename(img+".tmp", img); err != nil {
			return "", err
		}
		if err := syncDir(filepath.Dir(img)); err != nil {
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
			// An older versd's commit copied the upper out and crashed
			// before dropping the image: the image is complete, the copy
			// is not needed.
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

// diskTemplate returns an empty ext4 image of mib MiB that VM disks are
// copied from: mkfs (a process start, 20-100 ms on a busy host) runs once per
// size and versd run, and each VM gets a sparse copy of the well under 1 MiB
// that mkfs wrote. The templates live in the run directory, so a newer versd
// never copies an image made with other mkfs options.
func (m *Manager) diskTemplate(mib int64) (string, error) {
	m.templateMu.Lock()
	defer m.templateMu.Unlock()
	dir := filepath.Join(m.runDir, "disk-templates")
	p := filepath.Join(dir, strconv.FormatInt(mib, 10)+".img")
	if fileExists(p) {
		return p, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return p, makeDiskImage(p, mib)
}

// copySparse copies src to a new file dst, writing only src's data extents,
// so that a sparse image stays sparse.
func copySparse(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	size := st.Size()
	for off := int64(0); off < size; {
		data, err := unix.Seek(int(in.Fd()), off, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			break // only a hole is left
		}
		if err != nil {
			out.Close()
			return err
		}
		hole, err := unix.Seek(int(in.Fd()), data, unix.SEEK_HOLE)
		if err != nil {
			out.Close()
			return err
		}
		if _, err := io.Copy(io.NewOffsetWriter(out, data), io.NewSectionReader(in, data, hole-data)); err != nil {
			out.Close()
			return err
		}
		off = hole
	}
	if err := out.Truncate(size); err != nil {
		out.Close()
		return err
	}
	// Durable before the rename publishes it: after a power cut a full-size
	// image without its superblock would never mount again.
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
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

// sealDisk readies a stopped VM's disk image to become a layer as it is
// (no copy of the writable layer): ids shifted into the VMs' range, overlay's
// work directory gone, the filesystem flushed and unmounted, and the image
// file durable.
func (m *Manager) sealDisk(id string) error {
	img, mnt := m.diskImage(id), m.diskMount(id)
	if isMountPoint(mnt) {
		// Written by the VM, so already shifted, unless it came from a
		// writable layer older than user namespaces; a layer image is
		// mounted read-only, so shiftLayers could not fix it later.
		if err := shiftTree(filepath.Join(mnt, "upper")); err != nil {
			return err
		}
		if err := os.RemoveAll(filepath.Join(mnt, "work")); err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Stat(mnt, &st); err != nil {
			return err
		}
		if err := syncFS(mnt); err != nil {
			return fmt.Errorf("sandbox: VM %s: flushing its disk: %w", id, err)
		}
		if err := unix.Unmount(mnt, 0); err != nil {
			return fmt.Errorf("sandbox: VM %s: unmounting its disk: %w", id, err)
		}
		if err := waitLoopDetached(st.Dev, img); err != nil {
			return fmt.Errorf("sandbox: VM %s: %w", id, err)
		}
	}
	f, err := os.Open(img)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}

// waitLoopDetached waits until the loop device dev no longer serves img.
// Its autoclear runs when the filesystem on it is really gone (a lingering
// reference would keep it, and it could still write to the image); only
// then is the image file final.
func waitLoopDetached(dev uint64, img string) error {
	p := fmt.Sprintf("/sys/dev/block/%d:%d/loop/backing_file", unix.Major(dev), unix.Minor(dev))
	// The kernel shows the path without symlinks.
	real, err := filepath.EvalSymlinks(img)
	if err != nil {
		return err
	}
	for start := time.Now(); time.Since(start) < 5*time.Second; time.Sleep(2 * time.Millisecond) {
		b, err := os.ReadFile(p)
		if err != nil || string(bytes.TrimSpace(b)) != real {
			return nil
		}
	}
	return fmt.Errorf("the loop device of %s is still attached after its unmount", img)
}

// layerImageFile is a layer kept in the ext4 image its VM wrote it on; while
// in use it is mounted read-only at root/ (mountLayers).
const layerImageFile = "root.img"

// mountLayers mounts every image-backed layer of a stack that is not mounted
// yet. A mounted layer stays mounted until DeleteLayers or Close.
func (m *Manager) mountLayers(stack []string) error {
	m.layerMountMu.Lock()
	defer m.layerMountMu.Unlock()
	for _, id := range stack {
		img, root := filepath.Join(m.layerDir(id), layerImageFile), m.layerRoot(id)
		if !fileExists(img) || isMountPoint(root) {
			continue
		}
		if err := m.mountLayerImage(id, img, root); err != nil {
			return fmt.Errorf("sandbox: layer %s: mounting its image: %w", id, err)
		}
	}
	return nil
}

// mountLayerImage shows the image's upper/ (the VM's writable layer) at root:
// the filesystem is mounted read-only aside, upper/ bound to root, and the
// aside mount dropped.
func (m *Manager) mountLayerImage(id, img, root string) error {
	aside := filepath.Join(m.runDir, "layer-mounts", id)
	if err := os.MkdirAll(aside, 0o700); err != nil {
		return err
	}
	defer os.Remove(aside)
	if err := mountImageRO(img, aside); err != nil {
		return err
	}
	defer unix.Unmount(aside, unix.MNT_DETACH)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	if err := unix.Mount(filepath.Join(aside, "upper"), root, "", unix.MS_BIND, ""); err != nil {
		return err
	}
	if err := unix.Mount("", root, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		// Not left writable: mountLayers takes a mount point as done.
		_ = unix.Unmount(root, unix.MNT_DETACH)
		return err
	}
	return nil
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
func mountImage(img, mnt string) error { return attachAndMount(img, mnt, false) }

// mountImageRO is mountImage with the loop device and the mount read-only.
func mountImageRO(img, mnt string) error { return attachAndMount(img, mnt, true) }

func attachAndMount(img, mnt string, readOnly bool) error {
	mode, loopFlags, mountFlags := os.O_RDWR, uint32(unix.LO_FLAGS_AUTOCLEAR), uintptr(unix.MS_NOSUID|unix.MS_NODEV)
	if readOnly {
		mode, loopFlags, mountFlags = os.O_RDONLY, loopFlags|unix.LO_FLAGS_READ_ONLY, mountFlags|unix.MS_RDONLY
	}
	f, err := os.OpenFile(img, mode|unix.O_CLOEXEC, 0)
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
		loop, err := os.OpenFile(dev, mode|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		cfg := unix.LoopConfig{Fd: uint32(f.Fd())}
		cfg.Info.Flags = loopFlags
		err = unix.IoctlLoopConfigure(int(loop.Fd()), &cfg)
		if errors.Is(err, unix.EBUSY) {
			loop.Close()
			continue
		}
		if err != nil {
			loop.Close()
			return fmt.Errorf("configuring %s: %w", dev, err)
		}
		// noinit_itable: no background thread zeroing inode tables that
		// metadata_csum already marks unused (IO for nothing on every VM).
		err = unix.Mount(dev, mnt, "ext4", mountFlags, "noinit_itable")
		loop.Close() // with the mount holding it, autoclear waits for the unmount
		if err != nil {
			return fmt.Errorf("mounting %s: %w", dev, err)
		}
		return nil
	}
	return errors.New("no free loop device")
}
