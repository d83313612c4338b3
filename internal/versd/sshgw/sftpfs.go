package sshgw

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/pkg/sftp"
)

// rootFS implements pkg/sftp's request-server handlers on an os.Root. Every
// operation goes through the Root, which refuses "..", absolute symlinks and
// symlinks that resolve outside it, so a client cannot reach the host.
//
// Consequence worth knowing: following an absolute symlink inside the VM
// (for example /usr/bin/awk -> /etc/alternatives/awk) fails over SFTP even
// though it would work inside the VM; relative links work normally.
type rootFS struct {
	root *os.Root
}

var (
	_ sftp.FileReader           = (*rootFS)(nil)
	_ sftp.OpenFileWriter       = (*rootFS)(nil)
	_ sftp.PosixRenameFileCmder = (*rootFS)(nil)
	_ sftp.LstatFileLister      = (*rootFS)(nil)
	_ sftp.ReadlinkFileLister   = (*rootFS)(nil)
)

func newRootHandlers(root *os.Root) sftp.Handlers {
	h := &rootFS{root: root}
	return sftp.Handlers{FileGet: h, FilePut: h, FileCmd: h, FileList: h}
}

// rel turns an SFTP path (absolute, as the request server hands it over)
// into a name relative to the root. Cleaning against "/" first drops any
// ".." that would climb above it; os.Root still checks what remains.
func rel(p string) string {
	cleaned := path.Clean("/" + p)
	if cleaned == "/" {
		return "."
	}
	return strings.TrimPrefix(cleaned, "/")
}

// Fileread opens a file for reading (SFTP open with READ only).
func (h *rootFS) Fileread(r *sftp.Request) (io.ReaderAt, error) {
	f, err := h.root.Open(rel(r.Filepath))
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Filewrite opens a file for writing as the open flags ask.
func (h *rootFS) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	w, err := h.openForWrite(r, false)
	if err != nil {
		return nil, err
	}
	return w, nil
}

// OpenFile opens a file for reading and writing on one handle.
func (h *rootFS) OpenFile(r *sftp.Request) (sftp.WriterAtReaderAt, error) {
	w, err := h.openForWrite(r, true)
	if err != nil {
		return nil, err
	}
	return w, nil
}

func (h *rootFS) openForWrite(r *sftp.Request, readToo bool) (*writeHandle, error) {
	pf := r.Pflags()
	flag := os.O_WRONLY
	if readToo && pf.Read {
		flag = os.O_RDWR
	}
	if pf.Creat {
		flag |= os.O_CREATE
	}
	if pf.Trunc {
		flag |= os.O_TRUNC
	}
	if pf.Excl {
		flag |= os.O_EXCL
	}
	if pf.Append {
		flag |= os.O_APPEND
	}
	// The open packet's attribute flags do not reach the Request, so a
	// requested creation mode cannot be read; clients chmod afterwards.
	f, err := h.root.OpenFile(rel(r.Filepath), flag, 0o644)
	if err != nil {
		return nil, err
	}
	return &writeHandle{File: f, append: pf.Append}, nil
}

// writeHandle is an open file. In append mode the kernel places every write
// at the end (O_APPEND), so offsets from the client are ignored, as SFTP's
// APPEND flag asks; os.File.WriteAt refuses O_APPEND files, hence Write.
type writeHandle struct {
	*os.File
	append bool
}

func (w *writeHandle) WriteAt(p []byte, off int64) (int, error) {
	if w.append {
		return w.File.Write(p)
	}
	return w.File.WriteAt(p, off)
}

// Filecmd handles Setstat, Rename, Rmdir, Remove, Mkdir, Symlink and Link.
func (h *rootFS) Filecmd(r *sftp.Request) error {
	name := rel(r.Filepath)
	switch r.Method {
	case "Setstat":
		return h.setstat(name, r)
	case "Rename":
		// SFTP v3 rename must not replace an existing target (OpenSSH does
		// the same); PosixRename is the overwriting variant.
		if _, err := h.root.Lstat(rel(r.Target)); err == nil {
			return &os.LinkError{Op: "rename", Old: r.Filepath, New: r.Target, Err: fs.ErrExist}
		}
		return h.root.Rename(name, rel(r.Target))
	case "Rmdir":
		fi, err := h.root.Lstat(name)
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return &os.PathError{Op: "rmdir", Path: r.Filepath, Err: syscall.ENOTDIR}
		}
		return h.root.Remove(name)
	case "Remove":
		fi, err := h.root.Lstat(name)
		if err != nil {
			return err
		}
		if fi.IsDir() {
			return &os.PathError{Op: "remove", Path: r.Filepath, Err: syscall.EISDIR}
		}
		return h.root.Remove(name)
	case "Mkdir":
		return h.root.Mkdir(name, 0o755)
	case "Symlink":
		// For Symlink the request server puts the link's target text in
		// Filepath (stored verbatim, it is only text) and the new link's path
		// in Target.
		return h.root.Symlink(r.Filepath, rel(r.Target))
	case "Link":
		return h.root.Link(name, rel(r.Target))
	default:
		return &os.PathError{Op: strings.ToLower(r.Method), Path: r.Filepath, Err: errors.ErrUnsupported}
	}
}

// PosixRename renames, replacing an existing target atomically.
func (h *rootFS) PosixRename(r *sftp.Request) error {
	return h.root.Rename(rel(r.Filepath), rel(r.Target))
}

// setstat applies the attributes present in the request: size first (it
// needs write access), then owner, then mode (chown may clear set-id bits),
// then times (every other change touches ctime/mtime).
func (h *rootFS) setstat(name string, r *sftp.Request) error {
	flags := r.AttrFlags()
	attrs := r.Attributes()
	if attrs == nil {
		return &os.PathError{Op: "setstat", Path: r.Filepath, Err: syscall.EINVAL}
	}
	if flags.Size {
		f, err := h.root.OpenFile(name, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		err = f.Truncate(int64(attrs.Size))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	if flags.UidGid {
		if err := h.root.Chown(name, int(attrs.UID), int(attrs.GID)); err != nil {
			return err
		}
	}
	if flags.Permissions {
		if err := h.root.Chmod(name, attrs.FileMode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
			return err
		}
	}
	if flags.Acmodtime {
		atime := time.Unix(int64(attrs.Atime), 0)
		mtime := time.Unix(int64(attrs.Mtime), 0)
		if err := h.root.Chtimes(name, atime, mtime); err != nil {
			return err
		}
	}
	return nil
}

// Filelist handles List and Stat (Lstat and Readlink have their own methods).
func (h *rootFS) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	name := rel(r.Filepath)
	switch r.Method {
	case "List":
		dir, err := h.root.Open(name)
		if err != nil {
			return nil, err
		}
		defer dir.Close()
		entries, err := dir.Readdir(-1)
		if err != nil {
			return nil, err
		}
		slices.SortFunc(entries, func(a, b os.FileInfo) int { return strings.Compare(a.Name(), b.Name()) })
		return fileInfos(entries), nil
	case "Stat":
		fi, err := h.root.Stat(name)
		if err != nil {
			return nil, err
		}
		return fileInfos{fi}, nil
	default:
		return nil, &os.PathError{Op: strings.ToLower(r.Method), Path: r.Filepath, Err: errors.ErrUnsupported}
	}
}

// Lstat stats a path without following a final symlink.
func (h *rootFS) Lstat(r *sftp.Request) (sftp.ListerAt, error) {
	fi, err := h.root.Lstat(rel(r.Filepath))
	if err != nil {
		return nil, err
	}
	return fileInfos{fi}, nil
}

// Readlink returns a symlink's target text as stored.
func (h *rootFS) Readlink(p string) (string, error) {
	return h.root.Readlink(rel(p))
}

// fileInfos serves a fixed list of entries to the request server.
type fileInfos []os.FileInfo

func (l fileInfos) ListAt(dst []os.FileInfo, offset int64) (int, error) {
	if offset >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(dst, l[offset:])
	if n < len(dst) {
		return n, io.EOF
	}
	return n, nil
}
