package sandbox

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Overlayfs marks a deleted file with a 0/0 character device and a directory
// that hides everything below it with this xattr.
const overlayOpaqueXattr = "trusted.overlay.opaque"

type devIno struct{ dev, ino uint64 }

// treeCopier copies a tree entry by entry, keeping owners, modes, times,
// symlinks, device nodes, hard links and xattrs. With overlay set it applies
// src onto dst the way overlayfs would stack it: whiteouts delete and opaque
// directories replace what dst already has.
type treeCopier struct {
	overlay bool
	links   map[devIno]string
}

// copyTree copies the tree at src to dst (which may already exist).
func copyTree(src, dst string) error {
	return (&treeCopier{links: map[devIno]string{}}).apply(src, dst)
}

// applyLayer lays an overlay-format layer over dst.
func applyLayer(src, dst string) error {
	return (&treeCopier{overlay: true, links: map[devIno]string{}}).apply(src, dst)
}

func (c *treeCopier) apply(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		var st unix.Stat_t
		if err := unix.Lstat(path, &st); err != nil {
			return &fs.PathError{Op: "lstat", Path: path, Err: err}
		}
		if c.overlay && rel != "." && st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0 {
			return os.RemoveAll(target)
		}
		return c.copyEntry(path, target, &st, rel == ".")
	})
}

func (c *treeCopier) copyEntry(src, dst string, st *unix.Stat_t, isRoot bool) error {
	kind := st.Mode & unix.S_IFMT
	existing, lerr := os.Lstat(dst)
	exists := lerr == nil
	if exists && (kind != unix.S_IFDIR || !existing.IsDir()) {
		if err := os.RemoveAll(dst); err != nil {
			return err
		}
		exists = false
	}
	switch kind {
	case unix.S_IFDIR:
		if exists && c.overlay && !isRoot && isOpaque(src) {
			if err := os.RemoveAll(dst); err != nil {
				return err
			}
			exists = false
		}
		if !exists {
			if err := os.Mkdir(dst, 0o700); err != nil {
				return err
			}
		}
	case unix.S_IFREG:
		if st.Nlink > 1 {
			key := devIno{uint64(st.Dev), st.Ino}
			if first, ok := c.links[key]; ok {
				return os.Link(first, dst)
			}
			c.links[key] = dst
		}
		if err := copyFileData(src, dst); err != nil {
			return err
		}
	case unix.S_IFLNK:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := os.Symlink(target, dst); err != nil {
			return err
		}
	case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO:
		if err := unix.Mknod(dst, st.Mode, int(st.Rdev)); err != nil {
			return &fs.PathError{Op: "mknod", Path: dst, Err: err}
		}
	default: // sockets are meaningless in a copy
		return nil
	}
	return copyMetadata(src, dst, st, c.overlay)
}

func copyFileData(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	// os.File to os.File lets io.Copy use copy_file_range (reflinks on
	// filesystems that have them).
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// copyMetadata sets owner, then mode (chown clears set-id bits), xattrs and
// times. Overlay's own xattrs are not copied into a merged tree.
func copyMetadata(src, dst string, st *unix.Stat_t, skipOverlayXattrs bool) error {
	if err := unix.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil {
		return &fs.PathError{Op: "lchown", Path: dst, Err: err}
	}
	isLink := st.Mode&unix.S_IFMT == unix.S_IFLNK
	if !isLink {
		if err := unix.Chmod(dst, st.Mode&0o7777); err != nil {
			return &fs.PathError{Op: "chmod", Path: dst, Err: err}
		}
	}
	if err := copyXattrs(src, dst, skipOverlayXattrs); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return nil // children added later change it anyway
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, dst, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "utimes", Path: dst, Err: err}
	}
	return nil
}

func copyXattrs(src, dst string, skipOverlay bool) error {
	names, err := listXattrs(src)
	if err != nil || len(names) == 0 {
		return nil // the source filesystem has none to give
	}
	for _, name := range names {
		if skipOverlay && strings.HasPrefix(name, "trusted.overlay.") {
			continue
		}
		val, err := getXattr(src, name)
		if err != nil {
			continue
		}
		if err := unix.Lsetxattr(dst, name, val, 0); err != nil && !errors.Is(err, unix.ENOTSUP) && !errors.Is(err, unix.EPERM) {
			return fmt.Errorf("sandbox: copying xattr %s to %s: %w", name, dst, err)
		}
	}
	return nil
}

func listXattrs(path string) ([]string, error) {
	size, err := unix.Llistxattr(path, nil)
	if err != nil || size == 0 {
		return nil, err
	}
	buf := make([]byte, size)
	size, err = unix.Llistxattr(path, buf)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, n := range strings.Split(string(buf[:size]), "\x00") {
		if n != "" {
			names = append(names, n)
		}
	}
	return names, nil
}

func getXattr(path, name string) ([]byte, error) {
	size, err := unix.Lgetxattr(path, name, nil)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, size)
	size, err = unix.Lgetxattr(path, name, buf)
	if err != nil {
		return nil, err
	}
	return buf[:size], nil
}

func isOpaque(dir string) bool {
	v, err := getXattr(dir, overlayOpaqueXattr)
	return err == nil && string(v) == "y"
}
