package versd

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path"
	"strings"
	"syscall"

	"golang.org/x/crypto/ssh"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
	"github.com/vers-sh/terraform-provider-vers/internal/versd/sshgw"
	"github.com/vers-sh/terraform-provider-vers/internal/versd/store"
)

// maxFileRead bounds GET /files; larger files go through SFTP.
const maxFileRead = 32 << 20

// vmPath turns an API path ("/etc/hosts" or "etc/hosts") into a path
// relative to the VM root. os.Root then refuses anything that escapes,
// through ".." or through symlinks.
func vmPath(p string) (string, error) {
	if p == "" {
		return "", badRequest("path is required")
	}
	if strings.ContainsRune(p, 0) {
		return "", badRequest("path contains a NUL byte")
	}
	rel := strings.TrimLeft(path.Clean("/"+p), "/")
	if rel == "" {
		return "", badRequest("path %q is the root directory, not a file", truncate(p, 200))
	}
	return rel, nil
}

// openVMRoot opens the running VM's root filesystem. The caller holds the
// VM lock, so a commit cannot rename the writable layer underneath.
func (s *Server) openVMRoot(vm store.VM) (*os.Root, error) {
	if vm.State == vers.VMStatePaused {
		return nil, conflict("VM is paused; resume it with PATCH /api/v1/vm/{id}/state {\"state\":\"Running\"}")
	}
	dir, err := s.vms.RootDir(vm.ID)
	if err != nil {
		return nil, mapRuntimeError(err)
	}
	return os.OpenRoot(dir)
}

func fileError(p string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return notFound("file not found in the VM: %s", truncate(p, 200))
	case strings.Contains(err.Error(), "escapes") || strings.Contains(err.Error(), "path escapes"):
		return badRequest("path %s escapes the VM's root filesystem", truncate(p, 200))
	case errors.Is(err, fs.ErrPermission):
		return errorf(http.StatusForbidden, "permission denied: %s", truncate(p, 200))
	}
	var apiErr *apiError
	if errors.As(err, &apiErr) {
		return err
	}
	return badRequest("%s: %v", truncate(p, 200), err)
}

// openRegular opens a file of the VM that must be a regular file. The open
// is non-blocking, so a FIFO without a writer (or reader) does not hang the
// request while it holds the VM's lock, and the type is checked on the open
// descriptor before a byte moves; devices are refused before they are opened
// at all, since opening some has side effects.
func openRegular(root *os.Root, rel, shown string, flag int, perm ...os.FileMode) (*os.File, error) {
	if st, err := root.Stat(rel); err == nil && !st.Mode().IsRegular() {
		return nil, notRegular(shown, st.Mode())
	}
	mode := os.FileMode(0o644)
	if len(perm) > 0 {
		mode = perm[0]
	}
	f, err := root.OpenFile(rel, flag|syscall.O_NONBLOCK|syscall.O_NOCTTY, mode)
	if err != nil {
		if errors.Is(err, syscall.ENXIO) {
			return nil, notRegular(shown, fs.ModeNamedPipe)
		}
		return nil, fileError(shown, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fileError(shown, err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, notRegular(shown, st.Mode())
	}
	return f, nil
}

func notRegular(p string, mode fs.FileMode) error {
	kind := "a special file"
	switch {
	case mode.IsDir():
		kind = "a directory"
	case mode&fs.ModeNamedPipe != 0:
		kind = "a FIFO"
	case mode&fs.ModeSocket != 0:
		kind = "a socket"
	case mode&fs.ModeDevice != 0:
		kind = "a device"
	}
	return badRequest("%s is not a regular file (it is %s); the files API reads and writes regular files only", truncate(p, 200), kind)
}

func (s *Server) getFile(w http.ResponseWriter, r *http.Request) error {
	vm, err := s.getVM(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	p := r.URL.Query().Get("path")
	rel, err := vmPath(p)
	if err != nil {
		return err
	}
	unlock := s.vmLocks.lock(vm.ID)
	defer unlock()
	root, err := s.openVMRoot(vm)
	if err != nil {
		return err
	}
	defer root.Close()
	f, err := openRegular(root, rel, p, os.O_RDONLY)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fileError(p, err)
	}
	if st.Size() > maxFileRead {
		return errorf(http.StatusRequestEntityTooLarge, "%s is %d bytes; the files API returns at most %d (use SFTP for large files)", truncate(p, 200), st.Size(), maxFileRead)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileRead+1))
	if err != nil {
		return fileError(p, err)
	}
	writeJSON(w, http.StatusOK, vers.FileContent{ContentB64: base64.StdEncoding.EncodeToString(data)})
	return nil
}

func (s *Server) putFile(w http.ResponseWriter, r *http.Request) error {
	vm, err := s.getVM(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	// The content is spooled to disk before the VM lock is taken: a slow
	// upload must not hold up a commit or a delete of the VM.
	req, err := readFileUpload(r.Body, s.spoolDir)
	if err != nil {
		return err
	}
	defer req.Content.Close()
	rel, err := vmPath(req.Path)
	if err != nil {
		return err
	}
	mode := os.FileMode(0o644)
	if req.Mode != nil {
		if *req.Mode < 0 || *req.Mode > 0o7777 {
			return badRequest("mode %d is outside 0..07777 (send it as a number, e.g. 420 for 0644)", *req.Mode)
		}
		mode = os.FileMode(*req.Mode) & fs.ModePerm
	}
	unlock := s.vmLocks.lock(vm.ID)
	defer unlock()
	root, err := s.openVMRoot(vm)
	if err != nil {
		return err
	}
	defer root.Close()
	if req.CreateDirs {
		if dir := path.Dir(rel); dir != "." {
			if err := root.MkdirAll(dir, 0o755); err != nil {
				return fileError(req.Path, err)
			}
		}
	}
	f, err := openRegular(root, rel, req.Path, os.O_WRONLY|os.O_CREATE, mode)
	if err != nil {
		return err
	}
	if err := f.Truncate(0); err != nil {
		f.Close()
		return fileError(req.Path, err)
	}
	if _, err := io.Copy(f, req.Content); err != nil {
		f.Close()
		return fileError(req.Path, err)
	}
	if err := f.Close(); err != nil {
		return fileError(req.Path, err)
	}
	if err := root.Chmod(rel, mode); err != nil {
		return fileError(req.Path, err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"path": "/" + rel, "size": req.Size})
	return nil
}

// lookupVM resolves a VM for the SSH gateway: its own public key, its root
// and an exec that runs `sh -c` inside it.
func (s *Server) lookupVM(vmID string) (*sshgw.VMTarget, error) {
	ctx := context.Background()
	vm, err := s.db.GetVM(ctx, vmID)
	if err != nil {
		return nil, fmt.Errorf("VM %s: %w", truncate(vmID, 64), err)
	}
	// A paused VM's processes are stopped, so its SSH server cannot answer
	// either; refusing at once beats a client hanging until its timeout.
	if vm.State == vers.VMStatePaused {
		return nil, fmt.Errorf("VM %s is paused; resume it to connect", vm.ID)
	}
	signer, err := ssh.ParsePrivateKey([]byte(vm.SSHKey))
	if err != nil {
		return nil, fmt.Errorf("VM %s: stored key unreadable", vm.ID)
	}
	dir, err := s.vms.RootDir(vm.ID)
	if err != nil {
		return nil, err
	}
	return &sshgw.VMTarget{
		AuthorizedKey: signer.PublicKey(),
		RootDir:       dir,
		Exec: func(ctx context.Context, p *sshgw.Process) (int, error) {
			return s.sshExec(ctx, vm.ID, p)
		},
		Dial: func(ctx context.Context, host string, port int) (net.Conn, error) {
			return s.vms.Dial(ctx, vm.ID, host, port)
		},
	}, nil
}

// sshExec runs an SSH session's command (through sh -c) or login shell in
// the VM, with the account's env vars under the client's env requests.
func (s *Server) sshExec(ctx context.Context, vmID string, p *sshgw.Process) (int, error) {
	env, err := s.withAccountEnv(ctx, p.Env)
	if err != nil {
		return -1, err
	}
	spec := execSpec{Env: env, Control: p.Control, Command: []string{"/bin/sh", "-c", p.Command}}
	if p.Command == "" {
		spec.Command = loginShell
	}
	if p.TTY != nil {
		spec.TTY = &ttySpec{Term: p.TTY.Term, Rows: clampUint16(p.TTY.Rows), Cols: clampUint16(p.TTY.Cols)}
	}
	return s.vms.Exec(ctx, vmID, spec, p.Stdin, p.Stdout, p.Stderr)
}

// loginShell starts bash when the image has it, else sh, as a login shell
// in root's home directory. The choice is made inside the VM, so it sees
// the VM's own files.
var loginShell = []string{"/bin/sh", "-c", `cd "$HOME" 2>/dev/null; if [ -x /bin/bash ]; then exec /bin/bash -l; fi; exec /bin/sh -l`}
