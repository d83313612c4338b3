package vers

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sync"
)

// uploadWorkers is how many files UploadDir sends at once. Each file costs
// several round trips (open, write, close, chmod), so many small files go
// much faster in parallel; large files pipeline inside pkg/sftp as well.
const uploadWorkers = 8

// keptModeBits are the mode bits an upload reproduces on the VM.
const keptModeBits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

// UploadFile streams a local file to remote (created or truncated) and sets
// its mode; mode 0 keeps the local file's permission bits. Cancelling ctx
// stops the transfer at the next read.
func (s *SSHConn) UploadFile(ctx context.Context, local, remote string, mode fs.FileMode) error {
	client, err := s.SFTP()
	if err != nil {
		return err
	}
	src, err := os.Open(local)
	if err != nil {
		return err
	}
	defer src.Close()
	info, err := src.Stat()
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("upload %s: not a regular file", local)
	}
	if mode == 0 {
		mode = info.Mode() & keptModeBits
	}
	dst, err := client.OpenFile(remote, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return fmt.Errorf("upload %s: creating %s on VM %s: %w", local, remote, s.vmID, err)
	}
	// ctxReader reports the size, which lets pkg/sftp split the write into
	// concurrent packets.
	_, err = dst.ReadFrom(&ctxReader{ctx: ctx, r: src, size: info.Size()})
	if closeErr := dst.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return fmt.Errorf("upload %s to %s on VM %s: %w", local, remote, s.vmID, err)
	}
	if err := client.Chmod(remote, mode); err != nil {
		return fmt.Errorf("upload %s: chmod %s on VM %s: %w", local, remote, s.vmID, err)
	}
	return nil
}

// UploadDir copies localDir's tree into remoteDir (created if needed):
// regular files with their modes, directories with their modes, symlinks
// as symlinks (targets unchanged). Other file types are refused.
func (s *SSHConn) UploadDir(ctx context.Context, localDir, remoteDir string) error {
	client, err := s.SFTP()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	type dirMode struct {
		remote string
		mode   fs.FileMode
	}
	var dirs []dirMode
	jobs := make(chan [2]string)
	var wg sync.WaitGroup
	for range uploadWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range jobs {
				if err := s.UploadFile(ctx, job[0], job[1], 0); err != nil {
					cancel(err)
				}
			}
		}()
	}

	walkErr := filepath.WalkDir(localDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		rel, err := filepath.Rel(localDir, p)
		if err != nil {
			return err
		}
		remote := path.Join(remoteDir, filepath.ToSlash(rel))
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if err := client.MkdirAll(remote); err != nil {
				return fmt.Errorf("upload %s: mkdir %s on VM %s: %w", p, remote, s.vmID, err)
			}
			// Modes are applied after the contents: a read-only directory
			// must still accept its files first.
			dirs = append(dirs, dirMode{remote, info.Mode() & keptModeBits})
		case info.Mode().IsRegular():
			select {
			case jobs <- [2]string{p, remote}:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			_ = client.Remove(remote) // replace whatever was there
			if err := client.Symlink(target, remote); err != nil {
				return fmt.Errorf("upload %s: symlink %s on VM %s: %w", p, remote, s.vmID, err)
			}
		default:
			return fmt.Errorf("upload %s: %s files cannot be uploaded", p, info.Mode().Type())
		}
		return nil
	})
	close(jobs)
	wg.Wait()
	if walkErr != nil {
		return walkErr
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := client.Chmod(dirs[i].remote, dirs[i].mode); err != nil {
			return fmt.Errorf("upload: chmod %s on VM %s: %w", dirs[i].remote, s.vmID, err)
		}
	}
	return nil
}

// ctxReader stops a transfer when ctx ends and reports the source size.
type ctxReader struct {
	ctx  context.Context
	r    io.Reader
	size int64
}

func (r *ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

func (r *ctxReader) Size() int64 { return r.size }
