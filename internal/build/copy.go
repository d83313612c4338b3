package build

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

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

// copyStep copies a COPY/ADD's sources into the builder VM with Docker's
// destination rules, as one tar stream (see tarcopy.go), falling back to
// SFTP when the image has no tar. File modes are normalised (0755 when
// executable, else 0644; directories 0755) unless --chmod says otherwise,
// so the result depends only on what the context hash covers: two runners
// with different umasks produce identical layers. It reports whether the
// guest's page cache is already flushed.
func (ex *executor) copyStep(ctx context.Context, step dockerfile.Step) (synced bool, err error) {
	cp := step.Copy
	matches, err := ex.prep.Context.Resolve(ctx, cp.Sources)
	if err != nil {
		return false, err
	}
	// Refuse a bad destination before anything reaches the VM.
	if _, err := planUploads(cp, matches, false); err != nil {
		return false, err
	}
	ifDir, other := destDirs(cp, matches)
	t := tarTarget{WorkDir: step.WorkDir, User: step.User, Dest: cleanDest(cp), DirIfDir: ifDir, DirOther: other, Chown: cp.Chown}
	payload := &copyPayload{cp: cp, matches: matches}
	start := time.Now()
	for attempt := 0; ; attempt++ {
		err := ex.sendCopy(ctx, t, payload)
		switch {
		case err == nil:
			ex.progress(payload.report(step, time.Since(start)))
			// The script synced before the large files went in.
			return len(payload.big) == 0, nil
		case errors.Is(err, errNoTar):
			ex.progress(Event{Message: "the image has no tar: COPY falls back to SFTP, one request per file (slower on a far link)"})
			return false, ex.copyStepSFTP(ctx, step, matches)
		case errors.Is(err, vers.ErrConnectionLost) && ctx.Err() == nil && attempt == 0 && cp.Chown == "":
			// Extraction is idempotent without --chown (the same files
			// land again), so one fresh connection may finish the job.
			// With --chown the directories the first attempt created
			// would look pre-existing and keep root as owner.
			ex.closeSSH()
			ex.progress(Event{Message: fmt.Sprintf("the SSH connection to the builder VM dropped during COPY (%v); retrying once", err)})
		case errors.Is(err, vers.ErrConnectionLost):
			return false, fmt.Errorf("the SSH connection to the builder VM dropped during the copy; the layer was not committed: %w", err)
		default:
			return false, err
		}
	}
}

// sendCopy is one attempt at a COPY over the tar stream: the stream, then
// the large files it left as placeholders.
func (ex *executor) sendCopy(ctx context.Context, t tarTarget, payload *copyPayload) error {
	conn, err := ex.sshConn(ctx)
	if err != nil {
		return err
	}
	if err := streamTar(ctx, conn, t, payload.writer(ctx)); err != nil {
		return err
	}
	if len(payload.big) > 0 {
		return sendBigFiles(ctx, conn, payload.big)
	}
	return nil
}

// copyPayload is what a COPY sends. What goes where is planned only once
// the VM has said whether the destination is an existing directory, and
// again on a retry.
type copyPayload struct {
	cp      *dockerfile.CopyStep
	matches []buildcontext.SourceMatch

	// Filled by the last write.
	big   []bigFile // sent after the stream, in ranges
	files int
	bytes int64
}

// writer writes the payload into the tar stream.
func (p *copyPayload) writer(ctx context.Context) func(tw *tar.Writer, destIsDir bool) error {
	return func(tw *tar.Writer, destIsDir bool) error {
		plan, err := planUploads(p.cp, p.matches, destIsDir)
		if err != nil {
			return &localError{err}
		}
		p.files, p.bytes = 0, 0
		for _, u := range plan {
			p.files++
			p.bytes += u.src.Size
		}
		mode, hasChmod := p.cp.FileMode()
		p.big, err = writeUploads(ctx, tw, plan, mode, hasChmod, p.cp.Chown, bigFileThreshold)
		return err
	}
}

// report is the progress event of a finished copy, with its throughput.
func (p *copyPayload) report(step dockerfile.Step, d time.Duration) Event {
	mb := float64(p.bytes) / 1e6
	return Event{Status: "copied", Instruction: summarize(step), Line: step.StartLine, Duration: d,
		Message: fmt.Sprintf("%s: sent %d entries, %.1f MB in %.2fs (%.0f MB/s)", summarize(step), p.files, mb, d.Seconds(), mb/d.Seconds())}
}

// cleanDest is the COPY destination as a clean absolute path.
func cleanDest(cp *dockerfile.CopyStep) string {
	dest := strings.TrimSuffix(cp.Dest, "/")
	if dest == "" {
		return "/"
	}
	return path.Clean(dest)
}

// singleFileSource reports whether the COPY's destination could name
// either the file itself or a directory to put it in, which only the VM
// can tell (does a directory exist there?).
func singleFileSource(cp *dockerfile.CopyStep, matches []buildcontext.SourceMatch) bool {
	return !cp.DestIsDir && len(matches) == 1 && matches[0].Target.Type != buildcontext.Dir
}

// copyStepSFTP is the copy for images without tar: one SFTP request
// sequence per file, uploadWorkers files at a time. The WORKDIR already
// exists (the tar script made it before finding no tar).
func (ex *executor) copyStepSFTP(ctx context.Context, step dockerfile.Step, matches []buildcontext.SourceMatch) error {
	cp := step.Copy
	client, err := ex.sftpClient(ctx)
	if err != nil {
		return err
	}
	destIsDir, err := sftpDestIsDir(client, cp, matches)
	if err != nil {
		return err
	}
	plan, err := planUploads(cp, matches, destIsDir)
	if err != nil {
		return err
	}
	ifDir, other := destDirs(cp, matches)
	destDir := other
	if destIsDir {
		destDir = ifDir
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
	mode, hasChmod := cp.FileMode()
	files, err := sftpMakeTree(client, plan, mode, hasChmod)
	if err != nil {
		return err
	}
	if err := sftpUploadFiles(ctx, client, files, mode, hasChmod); err != nil {
		return err
	}
	if cp.Chown == "" {
		return nil
	}
	return ex.chownCopied(ctx, client, cp.Chown, created, plan)
}

// sftpDestIsDir asks the VM whether a single-file COPY's destination is an
// existing directory (the file then goes inside it).
func sftpDestIsDir(client *sftp.Client, cp *dockerfile.CopyStep, matches []buildcontext.SourceMatch) (bool, error) {
	if !singleFileSource(cp, matches) {
		return false, nil
	}
	st, err := client.Stat(cleanDest(cp))
	switch {
	case err == nil:
		return st.IsDir(), nil
	case errors.Is(err, os.ErrNotExist) || isSFTPNotExist(err):
		return false, nil
	}
	return false, fmt.Errorf("checking %s: %w", cleanDest(cp), err)
}

// sftpMakeTree creates the plan's directories and symlinks, in path order
// so parents exist, and returns the regular files still to upload.
func sftpMakeTree(client *sftp.Client, plan []upload, mode fs.FileMode, hasChmod bool) ([]upload, error) {
	var files []upload
	for _, u := range plan {
		switch u.src.Type {
		case buildcontext.Dir:
			if err := client.MkdirAll(u.dest); err != nil {
				return nil, fmt.Errorf("creating %s: %w", u.dest, err)
			}
			m := fs.FileMode(0o755)
			if hasChmod {
				m = mode
			}
			if err := client.Chmod(u.dest, m); err != nil {
				return nil, fmt.Errorf("chmod %s: %w", u.dest, err)
			}
		case buildcontext.Symlink:
			if err := client.MkdirAll(path.Dir(u.dest)); err != nil {
				return nil, fmt.Errorf("creating %s: %w", path.Dir(u.dest), err)
			}
			_ = client.Remove(u.dest) // COPY overwrites
			if err := client.Symlink(u.src.LinkTarget, u.dest); err != nil {
				return nil, fmt.Errorf("symlink %s: %w", u.dest, err)
			}
		default:
			files = append(files, u)
		}
	}
	return files, nil
}

// sftpUploadFiles uploads regular files, uploadWorkers at a time, with
// normalised modes unless --chmod gives one.
func sftpUploadFiles(ctx context.Context, client *sftp.Client, files []upload, mode fs.FileMode, hasChmod bool) error {
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
	return g.Wait()
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
// is a directory (trailing slash, several sources, or, as destIsDir says,
// an existing directory in the VM).
func planUploads(cp *dockerfile.CopyStep, matches []buildcontext.SourceMatch, destIsDir bool) ([]upload, error) {
	dest := strings.TrimSuffix(cp.Dest, "/")
	if dest == "" {
		dest = "/"
	}
	if len(matches) > 1 && !cp.DestIsDir {
		return nil, fmt.Errorf("COPY with more than one source needs a destination directory ending in /, got %q", cp.Dest)
	}
	intoDir := cp.DestIsDir || (destIsDir && singleFileSource(cp, matches))
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

// sshConn returns the SSH connection to the current builder VM, dialling
// once per builder and commit.
func (ex *executor) sshConn(ctx context.Context) (*vers.SSHConn, error) {
	if ex.ssh != nil && ex.sshVM == ex.vmID {
		return ex.ssh, nil
	}
	ex.closeSSH()
	conn, err := ex.api.DialSSH(ctx, ex.vmID)
	if err != nil {
		return nil, fmt.Errorf("connecting to the builder VM over SSH: %w", err)
	}
	ex.ssh, ex.sshVM = conn, ex.vmID
	return conn, nil
}

// sftpClient returns an SFTP session on the current builder VM.
func (ex *executor) sftpClient(ctx context.Context) (*sftp.Client, error) {
	conn, err := ex.sshConn(ctx)
	if err != nil {
		return nil, err
	}
	return conn.SFTP()
}

func (ex *executor) closeSSH() {
	if ex.ssh != nil {
		ex.ssh.Close()
		ex.ssh, ex.sshVM = nil, ""
	}
}
