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

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
	"github.com/vers-sh/terraform-provider-vers/internal/versd/sshgw"
	"github.com/vers-sh/terraform-provider-vers/internal/versd/store"
)

// maxFileRead bounds GET /files; larger files go through SFTP.
const maxFileRead = 32 << 20

// vmPath turns an API path ("/etc/hosts" or "etc/hosts") into an absolute
// path in the VM. The VM's own SFTP server resolves it inside the VM, so
// ".." and symlinks cannot lead anywhere the VM could not go anyway.
func vmPath(p string) (string, error) {
	if p == "" {
		return "", badRequest("path is required")
	}
	if strings.ContainsRune(p, 0) {
		return "", badRequest("path contains a NUL byte")
	}
	abs := path.Clean("/" + p)
	if abs == "/" {
		return "", badRequest("path %q is the root directory, not a file", truncate(p, 200))
	}
	return abs, nil
}

// openVMFiles opens an SFTP session served inside the running VM: every
// file the API reads or writes is read or written by a process of the VM,
// with its privileges. The caller holds the VM lock, so a commit cannot swap
// the VM's root underneath. The session closes when the request ends, so a
// VM process that never answers (a FIFO swapped in) cannot hold the lock.
func (s *Server) openVMFiles(ctx context.Context, vm store.VM) (*sftp.Client, error) {
	if vm.State == vers.VMStatePaused {
		return nil, conflict("VM is paused; resume it with PATCH /api/v1/vm/{id}/state {\"state\":\"Running\"}")
	}
	rw, err := s.vms.SFTP(ctx, vm.ID)
	if err != nil {
		return nil, mapRuntimeError(err)
	}
	c, err := sftp.NewClientPipe(rw, rw)
	if err != nil {
		rw.Close()
		return nil, mapRuntimeError(fmt.Errorf("%w (the VM's file server did not answer: %v)", errVMNotRunning, err))
	}
	context.AfterFunc(ctx, func() { c.Close() })
	return c, nil
}

func fileError(p string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return notFound("file not found in the VM: %s", truncate(p, 200))
	case errors.Is(err, fs.ErrPermission):
		return errorf(http.StatusForbidden, "permission denied: %s", truncate(p, 200))
	}
	var apiErr *apiError
	if errors.As(err, &apiErr) {
		return err
	}
	return badRequest("%s: %v", truncate(p, 200), err)
}

// openRegular opens a file of the VM that must be a regular file. FIFOs,
// devices and directories are refused before they are opened (opening some
// has side effects or blocks), and the type is checked again on the open
// file before a byte moves.
func openRegular(c *sftp.Client, p, shown string, flag int) (*sftp.File, error) {
	if st, err := c.Stat(p); err == nil && !st.Mode().IsRegular() {
		return nil, notRegular(shown, st.Mode())
	}
	f, err := c.OpenFile(p, flag)
	if err != nil {
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
	c, err := s.openVMFiles(r.Context(), vm)
	if err != nil {
		return err
	}
	defer c.Close()
	f, err := openRegular(c, rel, p, os.O_RDONLY)
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
	c, err := s.openVMFiles(r.Context(), vm)
	if err != nil {
		return err
	}
	defer c.Close()
	if req.CreateDirs {
		if dir := path.Dir(rel); dir != "/" {
			if err := c.MkdirAll(dir); err != nil {
				return fileError(req.Path, err)
			}
		}
	}
	f, err := openRegular(c, rel, req.Path, os.O_WRONLY|os.O_CREATE)
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
	if err := c.Chmod(rel, mode); err != nil {
		return fileError(req.Path, err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"path": rel, "size": req.Size})
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
	if s.vms.Dead(vm.ID) {
		return nil, fmt.Errorf("VM %s is dead", vm.ID)
	}
	return &sshgw.VMTarget{
		AuthorizedKey: signer.PublicKey(),
		SFTP: func(ctx context.Context) (io.ReadWriteCloser, error) {
			return s.vms.SFTP(ctx, vm.ID)
		},
		Exec: func(ctx context.Context, p *sshgw.Process) (sshgw.ExitStatus, error) {
			return s.sshExec(ctx, vm, p)
		},
		Dial: func(ctx context.Context, host string, port int) (net.Conn, error) {
			return s.vms.Dial(ctx, vm.ID, host, port)
		},
	}, nil
}

// sshExec runs an SSH session's command (through sh -c) or login shell in
// the VM, with the account's env vars under the client's env requests.
func (s *Server) sshExec(ctx context.Context, vm store.VM, p *sshgw.Process) (sshgw.ExitStatus, error) {
	env, err := s.withAccountEnv(ctx, vm, p.Env)
	if err != nil {
		return sshgw.ExitStatus{Code: -1}, err
	}
	spec := execSpec{Env: env, Control: p.Control, Command: []string{"/bin/sh", "-c", p.Command}}
	if p.Command == "" {
		spec.Command = loginShell
	}
	if p.TTY != nil {
		spec.TTY = &ttySpec{Term: p.TTY.Term, Rows: clampUint16(p.TTY.Rows), Cols: clampUint16(p.TTY.Cols)}
	}
	return s.vms.Exec(ctx, vm.ID, spec, p.Stdin, p.Stdout, p.Stderr)
}

// loginShell starts bash when the image has it, else sh, as a login shell
// in root's home directory. The choice is made inside the VM, so it sees
// the VM's own files.
var loginShell = []string{"/bin/sh", "-c", `cd "$HOME" 2>/dev/null; if [ -x /bin/bash ]; then exec /bin/bash -l; fi; exec /bin/sh -l`}

// statInVM stats p as a process of the VM sees it (symlinks followed inside
// the VM), through the VM's own SFTP server: versd never resolves VM paths
// on the host.
func (s *Server) statInVM(ctx context.Context, vmID, p string) (fs.FileInfo, error) {
	rw, err := s.vms.SFTP(ctx, vmID)
	if err != nil {
		return nil, err
	}
	c, err := sftp.NewClientPipe(rw, rw)
	if err != nil {
		rw.Close()
		return nil, err
	}
	defer c.Close()
	return c.Stat(p)
}
