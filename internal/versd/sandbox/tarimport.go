package sandbox

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// importTarball unpacks a root filesystem tarball (`docker export`, a
// debootstrap tarball; plain or gzip) into dst. Every write goes through an
// os.Root on dst, so entries named "../x" or written through a symlink the
// archive itself planted cannot land outside it.
func importTarball(tarball, dst string) error {
	f, err := os.Open(tarball)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := decompressed(f)
	if err != nil {
		return fmt.Errorf("%s: %w", tarball, err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(dst)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(r)
	var dirs []*tar.Header // directory modes are set last, so read-only dirs can be filled
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", tarball, err)
		}
		name, err := entryName(hdr)
		if err != nil {
			return fmt.Errorf("%s: %w", tarball, err)
		}
		if name == "." {
			continue
		}
		if hdr.Typeflag == tar.TypeDir {
			dirs = append(dirs, hdr)
		}
		if err := extractEntry(root, name, hdr, tr); err != nil {
			return fmt.Errorf("%s: %w", tarball, err)
		}
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		name, _ := entryName(dirs[i])
		if err := setOwnerAndMode(root, name, dirs[i]); err != nil {
			return fmt.Errorf("%s: %w", tarball, err)
		}
	}
	return nil
}

// decompressed reads r through gzip when it starts with gzip's magic.
func decompressed(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		// A gzip.Reader holds nothing to release; its Close only
		// reports a stream error, which Read reports too.
		return gzip.NewReader(br)
	}
	return br, nil
}

// entryName is the entry's path relative to the root ("." for the root
// itself); a path that climbs out of the root is an error.
func entryName(hdr *tar.Header) (string, error) {
	name := path.Clean(strings.TrimPrefix(hdr.Name, "/"))
	if name == ".." || strings.HasPrefix(name, "../") {
		return "", fmt.Errorf("entry %q points outside the root filesystem", hdr.Name)
	}
	return name, nil
}

// extractEntry creates one entry under root. A directory gets its owner
// and mode later (setOwnerAndMode, deepest first).
func extractEntry(root *os.Root, name string, hdr *tar.Header, content io.Reader) error {
	if err := root.MkdirAll(path.Dir(name), 0o755); err != nil && path.Dir(name) != "." {
		return fmt.Errorf("%s: %w", name, err)
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := root.Mkdir(name, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	case tar.TypeReg:
		if err := writeTarFile(root, name, content); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	case tar.TypeSymlink:
		_ = root.Remove(name)
		if err := root.Symlink(hdr.Linkname, name); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	case tar.TypeLink:
		target := path.Clean(strings.TrimPrefix(hdr.Linkname, "/"))
		_ = root.Remove(name)
		if err := root.Link(target, name); err != nil {
			return fmt.Errorf("hard link %s: %w", name, err)
		}
	default:
		// Devices, FIFOs: the sandbox provides its own /dev.
		return nil
	}
	return setOwnerAndMode(root, name, hdr)
}

// setOwnerAndMode applies the entry's owner (best effort) and, except on
// symlinks, its mode.
func setOwnerAndMode(root *os.Root, name string, hdr *tar.Header) error {
	_ = root.Lchown(name, hdr.Uid, hdr.Gid)
	if hdr.Typeflag == tar.TypeSymlink {
		return nil
	}
	if err := root.Chmod(name, withSpecialBits(fs.FileMode(hdr.Mode)&fs.ModePerm, hdr.Mode)); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func writeTarFile(root *os.Root, name string, r io.Reader) error {
	_ = root.Remove(name)
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// withSpecialBits maps tar's setuid/setgid/sticky bits onto Go's FileMode.
func withSpecialBits(perm fs.FileMode, tarMode int64) fs.FileMode {
	if tarMode&0o4000 != 0 {
		perm |= fs.ModeSetuid
	}
	if tarMode&0o2000 != 0 {
		perm |= fs.ModeSetgid
	}
	if tarMode&0o1000 != 0 {
		perm |= fs.ModeSticky
	}
	return perm
}
