package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/pkg/sftp"
	"golang.org/x/sync/errgroup"

	"github.com/vers-sh/terraform-provider-vers/internal/buildcontext"
	"github.com/vers-sh/terraform-provider-vers/internal/dockerfile"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// uploadWorkers bounds concurrent file uploads; each large file is further
// parallelised inside pkg/sftp.
const uploadWorkers = 8

// upload is one file-system entry to create in the VM.
type upload struct {
	src  buildcontext.File
	dest string // absolute path in the VM
}

// copyStep uploads a COPY/ADD's sources over SFTP with Docker's destination
// rules. File modes are normalised (0755 when executable, else 0644;
// directories 0755) unless --chmod says otherwise, so the result depends
// only on what the context hash covers: two runners with different umasks
// produce identical layers.
func (ex *executor) copyStep(ctx context.Context, step dockerfile.Step) error {
	cp := step.Copy
	matches, err := ex.prep.Context.Resolve(ctx, cp.Sources)
	if err != nil {
		return err
	}
	client, err := ex.sftpClient(ctx)
	if err != nil {
		return err
	}
	// Docker creates a missing WORKDIR before the COPY (when WORKDIR runs),
	// so it is not owned like the COPY's own directories.
	if err := ex.ensureWorkDir(ctx, step); err != nil {
		return err
	}
	plan, err := planUploads(client, cp, matches)
	if err != nil {
		return err
	}
	mode, hasChmod := cp.FileMode()
	// The destination directory must exist; for a single file copied to a
	// file path only its parent must (creating the path itself as a
	// directory would turn "COPY a.txt b.txt" into b.txt/a.txt).
	destDir := strings.TrimSuffix(cp.Dest, "/")
	if fileDest(cp, matches, plan) {
		destDir = path.Dir(destDir)
	}
	// Docker gives directories the COPY creates the --chown owner too, so
	// remember which ones are new before creating them.
	created, err := missingDirs(client, destDir)
	if err != nil {
		return err
	}
	if destDir != "" && destDir != "/" {
		if err := client.MkdirAll(destDir); err != nil {
			return fmt.Errorf("creating %s: %w", destDir, err)
		}
	}
	// Directories and links first, in path order, so parents exist.
	var files []upload
	for _, u := range plan {
		switch u.src.Type {
		case buildcontext.Dir:
			if err := client.MkdirAll(u.dest); err != nil {
				return fmt.Errorf("creating %s: %w", u.dest, err)
			}
			m := fs.FileMode(0o755)
			if hasChmod {
				m = mode
			}
			if err := client.Chmod(u.dest, m); err != nil {
				return fmt.Errorf("chmod %s: %w", u.dest, err)
			}
		case buildcontext.Symlink:
			if err := client.MkdirAll(path.Dir(u.dest)); err != nil {
				return fmt.Errorf("creating %s: %w", path.Dir(u.dest), err)
			}
			_ = client.Remove(u.dest) // COPY overwrites
			if err := client.Symlink(u.src.LinkTarget, u.dest); err != nil {
				return fmt.Errorf("symlink %s: %w", u.dest, err)
			}
		default:
			files = append(files, u)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(uploadWorkers)
	for _, u := range files {
		g.Go(func() error {
			m := fs.FileMode(0o644)
			if u.src.Executable {
				m = 0o755
			}
			if hasChmod {
				m = mode
			}
			return uploadFile(gctx, client, u, m)
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if cp.Chown == "" {
		return nil
	}
	return ex.chownCopied(ctx, client, cp.Chown, created, plan)
}

// chownListPath is where chownCopied leaves its path list for the length
// of one exec; it is removed before the layer is committed.
const chownListPath = "/.vers-build-chown-list"

// chownCopied gives --chown's owner to exactly what this COPY wrote: every
// uploaded entry and the directories it created above them. Each gets a
// non-recursive `chown -h`, so content that was already there (the rest of
// /etc in `COPY --chown=app conf/ /etc/`) keeps its owner, and a symlink is
// re-owned rather than its target. The list travels as a NUL-separated
// file fed to xargs, which no number of files can overflow.
func (ex *executor) chownCopied(ctx context.Context, client *sftp.Client, owner string, created []string, plan []upload) error {
	seen := map[string]bool{}
	var list bytes.Buffer
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			list.WriteString(p)
			list.WriteByte(0)
		}
	}
	for _, d := range created {
		add(d)
	}
	for _, u := range plan {
		add(u.dest)
	}
	if list.Len() == 0 {
		return nil
	}
	f, err := client.OpenFile(chownListPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return fmt.Errorf("--chown=%s: writing the path list: %w", owner, err)
	}
	if _, err := f.Write(list.Bytes()); err != nil {
		f.Close()
		return fmt.Errorf("--chown=%s: writing the path list: %w", owner, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--chown=%s: writing the path list: %w", owner, err)
	}
	script := `xargs -0 -r chown -h -- "$1" < "$2"; rc=$?; rm -f "$2"; exit $rc`
	out, err := ex.api.Exec(ctx, ex.vmID, vers.ExecRequest{Command: []string{"/bin/sh", "-c", script, "vers-chown", owner, chownListPath}})
	if err != nil {
		return fmt.Errorf("--chown=%s: %w", owner, err)
	}
	if out.ExitCode != 0 {
		return fmt.Errorf("--chown=%s: %s (does the user exist in the image?)", owner, strings.TrimSpace(out.Stderr))
	}
	return nil
}

// missingDirs lists dir and those of its parents that do not exist yet in
// the VM, deepest first.
func missingDirs(client *sftp.Client, dir string) ([]string, error) {
	var out []string
	for d := path.Clean(dir); d != "/" && d != "." && d != ""; d = path.Dir(d) {
		_, err := client.Stat(d)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrNotExist) && !isSFTPNotExist(err) {
			return nil, fmt.Errorf("checking %s: %w", d, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// planUploads maps every matched entry to its destination the way Docker
// does: a directory source copies its contents into the destination; a file
// source lands at the destination path, or inside it when the destination
// is a directory (trailing slash, several sources, or an existing directory
// in the VM).
func planUploads(client *sftp.Client, cp *dockerfile.CopyStep, matches []buildcontext.SourceMatch) ([]upload, error) {
	dest := strings.TrimSuffix(cp.Dest, "/")
	if dest == "" {
		dest = "/"
	}
	intoDir := cp.DestIsDir || len(matches) > 1
	if len(matches) > 1 && !cp.DestIsDir {
		return nil, fmt.Errorf("COPY with more than one source needs a destination directory ending in /, got %q", cp.Dest)
	}
	if !intoDir && len(matches) == 1 && matches[0].Target.Type != buildcontext.Dir {
		if st, err := client.Stat(dest); err == nil && st.IsDir() {
			intoDir = true
		} else if err != nil && !errors.Is(err, os.ErrNotExist) && !isSFTPNotExist(err) {
			return nil, fmt.Errorf("checking %s: %w", dest, err)
		}
	}
	var out []upload
	for _, m := range matches {
		if m.Target.Type == buildcontext.Dir {
			prefix := m.Target.Rel + "/"
			for _, f := range m.Files {
				rel := f.Rel
				if m.Target.Rel != "." {
					rel = strings.TrimPrefix(f.Rel, prefix)
				}
				target := path.Join(dest, rel)
				out = append(out, upload{src: f, dest: target})
			}
			continue
		}
		target := dest
		if intoDir {
			target = path.Join(dest, path.Base(m.Entry.Rel))
		}
		out = append(out, upload{src: m.Target, dest: target})
	}
	return out, nil
}

// fileDest reports whether a COPY writes one file at exactly its
// destination path (rather than into a directory there).
func fileDest(cp *dockerfile.CopyStep, matches []buildcontext.SourceMatch, plan []upload) bool {
	return len(matches) == 1 && matches[0].Target.Type != buildcontext.Dir && len(plan) == 1 &&
		plan[0].dest == path.Clean(strings.TrimSuffix(cp.Dest, "/"))
}

func isSFTPNotExist(err error) bool {
	var se *sftp.StatusError
	return errors.As(err, &se) && se.FxCode() == sftp.ErrSSHFxNoSuchFile
}

// uploadFile streams one file; nothing is held in memory beyond pkg/sftp's
// in-flight windows.
func uploadFile(ctx context.Context, client *sftp.Client, u upload, mode fs.FileMode) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	local, err := os.Open(u.src.Abs)
	if err != nil {
		return fmt.Errorf("reading %s: %w", u.src.Rel, err)
	}
	defer local.Close()
	if err := client.MkdirAll(path.Dir(u.dest)); err != nil {
		return fmt.Errorf("creating %s: %w", path.Dir(u.dest), err)
	}
	remote, err := client.OpenFile(u.dest, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return fmt.Errorf("creating %s in the VM: %w", u.dest, err)
	}
	if _, err := remote.ReadFrom(local); err != nil {
		remote.Close()
		return fmt.Errorf("uploading %s: %w", u.src.Rel, err)
	}
	if err := remote.Close(); err != nil {
		return fmt.Errorf("uploading %s: %w", u.src.Rel, err)
	}
	if err := client.Chmod(u.dest, mode); err != nil {
		return fmt.Errorf("chmod %s: %w", u.dest, err)
	}
	return nil
}

// sftpClient returns an SFTP session on the current builder VM, dialling
// once per builder.
func (ex *executor) sftpClient(ctx context.Context) (*sftp.Client, error) {
	if ex.ssh != nil && ex.sshVM == ex.vmID {
		return ex.ssh.SFTP()
	}
	ex.closeSSH()
	conn, err := ex.api.DialSSH(ctx, ex.vmID)
	if err != nil {
		return nil, fmt.Errorf("connecting to the builder VM over SSH: %w", err)
	}
	ex.ssh, ex.sshVM = conn, ex.vmID
	return conn.SFTP()
}

func (ex *executor) closeSSH() {
	if ex.ssh != nil {
		ex.ssh.Close()
		ex.ssh, ex.sshVM = nil, ""
	}
}
