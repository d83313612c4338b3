package build

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/sync/errgroup"

	"github.com/vers-sh/terraform-provider-vers/internal/buildcontext"
	"github.com/vers-sh/terraform-provider-vers/internal/dockerfile"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// A COPY travels as one tar stream into `tar -x` in the builder VM, over a
// single SSH exec channel. Its cost is then a fixed handful of round trips
// plus its bytes, whatever the number of files; per-file SFTP requests cost
// about five round trips each, which dominates on a far link (34.9 s for
// 2000 files at 20 ms RTT). The script below also creates the WORKDIR,
// answers the one question the client cannot know (is the destination an
// existing directory?), applies --chown and flushes the guest's page cache,
// so the step needs no other request.

// tarCopySh runs in the VM: tar-copy WORKDIR USER DEST DIR_IF_DIR DIR_OTHER
// CHOWN TAR. It prints one line, "tar dir", "tar other" or "notar" (is DEST an
// existing directory; is there a tar), then, when tar exists, creates the
// destination directory (DIR_IF_DIR or DIR_OTHER by that answer),
// extracts stdin at /, gives CHOWN to the directories it created and to
// every path listed NUL-separated in the stream's chownListPath entry, and
// syncs. Exit codes name the stage that failed (see tarCopyStage).
const tarCopySh = makeWorkDirFn + `
umask 022
vc_workdir=$1 vc_user=$2 vc_dest=$3 vc_dirdir=$4 vc_dirother=$5 vc_owner=$6 vc_tar=$7
shift 7
if [ -n "$vc_workdir" ] && [ "$vc_workdir" != / ]; then
	make_workdir "$vc_workdir" "$vc_user" || exit 3
fi
vc_kind=other
[ -d "$vc_dest" ] && vc_kind=dir
if ! command -v "$vc_tar" >/dev/null 2>&1; then
	echo notar
	exit 0
fi
echo "tar $vc_kind"
vc_dir=$vc_dirother
[ "$vc_kind" = dir ] && vc_dir=$vc_dirdir
set --
vc_c=$vc_dir
while [ -n "$vc_c" ] && [ "$vc_c" != / ] && [ ! -e "$vc_c" ]; do
	set -- "$@" "$vc_c"
	vc_c=${vc_c%/*}
done
if [ -n "$vc_dir" ] && [ "$vc_dir" != / ]; then
	mkdir -p -- "$vc_dir" || exit 4
fi
"$vc_tar" -x -f - -C / || exit 5
if [ -n "$vc_owner" ]; then
	vc_rc=0
	if [ $# -gt 0 ]; then chown -h -- "$vc_owner" "$@" || vc_rc=1; fi
	if [ $vc_rc = 0 ] && [ -f /` + chownListName + ` ]; then
		xargs -0 -r chown -h -- "$vc_owner" < /` + chownListName + ` || vc_rc=1
	fi
	rm -f /` + chownListName + `
	[ $vc_rc = 0 ] || exit 6
fi
sync
`

// tarProgram is the tar the script runs. Busybox's shell runs its own tar
// applet even when no tar file is left in the image, so tests name a
// missing program here to reach the SFTP fallback.
var tarProgram = "tar"

// chownListName is the stream's last entry when --chown is set: the
// NUL-separated paths to re-own, removed before the step ends.
const chownListName = ".vers-build-chown-list"

// tarCopyStage explains the script's exit codes.
func tarCopyStage(code int, t tarTarget) string {
	switch code {
	case 3:
		return "creating WORKDIR " + t.WorkDir
	case 4:
		return "creating the destination directory"
	case 5:
		return "extracting the files in the VM (tar)"
	case 6:
		return "--chown=" + t.Chown + " (does the user exist in the image?)"
	default:
		return fmt.Sprintf("the copy script exited with code %d", code)
	}
}

// errNoTar means the image has no tar; callers fall back to SFTP.
var errNoTar = errors.New("the image has no tar")

// tarTarget says where one tar stream lands in the builder VM.
type tarTarget struct {
	// WorkDir, when not "" or "/", is created first (missing components
	// owned by User), as before any COPY.
	WorkDir, User string
	// Dest is the clean absolute destination the probe looks at.
	Dest string
	// DirIfDir and DirOther are the directory to create before extracting
	// when Dest is, or is not, an existing directory ("" or "/": none).
	DirIfDir, DirOther string
	// Chown, when set, re-owns the directories created above and every path
	// the stream lists in a chownListName entry (see writeChownList).
	Chown string
}

// tarStreamBuffer batches small files into large channel writes.
const tarStreamBuffer = 1 << 20

// streamTar runs one tar copy on the builder VM: it starts the script on
// an SSH exec channel, reads whether Dest is a directory, and lets write
// produce the archive (entry names relative to /). It is the one function
// every COPY-like step (context files, another stage's files) goes
// through. It returns errNoTar before calling write when the image has no
// tar, and an error wrapping vers.ErrConnectionLost when the transport
// dropped.
func streamTar(ctx context.Context, conn *vers.SSHConn, t tarTarget, write func(tw *tar.Writer, destIsDir bool) error) error {
	stderr := &tailBuffer{max: tailLines}
	cmd := "/bin/sh -c " + shellJoin([]string{tarCopySh, "vers-tar-copy", t.WorkDir, t.User, t.Dest, t.DirIfDir, t.DirOther, t.Chown, tarProgram})
	rc, err := conn.Start(ctx, cmd, stderr)
	if err != nil {
		return err
	}
	out := bufio.NewReader(rc.Stdout)
	line, readErr := out.ReadString('\n')
	// tar writes nothing to stdout; drain it anyway so a chatty tar cannot
	// stall the channel.
	go func() { _, _ = io.Copy(io.Discard, out) }()
	line = strings.TrimSpace(line)
	if readErr != nil || (line != "notar" && line != "tar dir" && line != "tar other") {
		rc.Stdin.Close()
		code, werr := rc.Wait()
		if werr != nil {
			return werr
		}
		if code != 0 {
			return fmt.Errorf("%s: %s", tarCopyStage(code, t), strings.TrimSpace(stderr.String()))
		}
		return fmt.Errorf("the copy script in the VM answered %q", line)
	}
	if line == "notar" {
		rc.Stdin.Close()
		if _, err := rc.Wait(); err != nil {
			return err
		}
		return errNoTar
	}
	bw := bufio.NewWriterSize(rc.Stdin, tarStreamBuffer)
	tw := tar.NewWriter(bw)
	werr := write(tw, line == "tar dir")
	if werr == nil {
		werr = tw.Close()
	}
	if werr == nil {
		werr = bw.Flush()
	}
	if werr != nil {
		if ctx.Err() != nil || isLocal(werr) {
			rc.Abort()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return werr
		}
		// The VM may have stopped reading because tar failed (a full
		// disk); its exit status says more than a broken pipe.
		type result struct {
			code int
			err  error
		}
		done := make(chan result, 1)
		rc.Stdin.Close()
		go func() {
			code, err := rc.Wait()
			done <- result{code, err}
		}()
		var r result
		select {
		case r = <-done:
		case <-time.After(5 * time.Second):
			rc.Abort()
			r = <-done
		}
		if r.err == nil && r.code != 0 {
			return fmt.Errorf("%s: %s", tarCopyStage(r.code, t), strings.TrimSpace(stderr.String()))
		}
		return fmt.Errorf("sending files to the builder VM: %w (%w)", vers.ErrConnectionLost, werr)
	}
	rc.Stdin.Close()
	code, err := rc.Wait()
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("%s: %s", tarCopyStage(code, t), strings.TrimSpace(stderr.String()))
	}
	return nil
}

// localError marks errors of this machine (reading the context), which a
// retry cannot fix.
type localError struct{ err error }

func (e *localError) Error() string { return e.err.Error() }
func (e *localError) Unwrap() error { return e.err }

func isLocal(err error) bool {
	var le *localError
	return errors.As(err, &le)
}

// tarMode turns a file mode into tar's Unix mode bits.
func tarMode(m fs.FileMode) int64 {
	mode := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}

// cancelCheckEvery is how many bytes of one file go out between checks of
// the context, so a cancelled build stops mid-file.
const cancelCheckEvery = 1 << 20

// writeUploads writes plan's entries (created as root, modes as Docker's
// COPY gives them: 0755 directories, 0755/0644 files by the executable
// bit, or --chmod's mode for all) and, when chown is set, the list of
// paths to re-own. Files of at least bigFrom bytes (0: none) go in as
// empty placeholders and are returned, for sendBigFiles to fill.
func writeUploads(ctx context.Context, tw *tar.Writer, plan []upload, chmod fs.FileMode, hasChmod bool, chown string, bigFrom int64) ([]bigFile, error) {
	var big []bigFile
	// Whole seconds keep every header plain ustar (no PAX record).
	now := time.Now().Truncate(time.Second)
	buf := make([]byte, cancelCheckEvery)
	for _, u := range plan {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		name := strings.TrimPrefix(u.dest, "/")
		if name == "" {
			continue // the root itself: it exists
		}
		hdr := &tar.Header{Name: name, ModTime: now}
		switch u.src.Type {
		case buildcontext.Dir:
			hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, name+"/", 0o755
			if hasChmod {
				hdr.Mode = tarMode(chmod)
			}
			if err := tw.WriteHeader(hdr); err != nil {
				return nil, err
			}
		case buildcontext.Symlink:
			hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, u.src.LinkTarget, 0o777
			if err := tw.WriteHeader(hdr); err != nil {
				return nil, err
			}
		default:
			hdr.Typeflag, hdr.Mode = tar.TypeReg, 0o644
			if u.src.Executable {
				hdr.Mode = 0o755
			}
			if hasChmod {
				hdr.Mode = tarMode(chmod)
			}
			if bigFrom > 0 && u.src.Size >= bigFrom {
				if err := tw.WriteHeader(hdr); err != nil {
					return nil, err
				}
				big = append(big, bigFile{src: u.src, dest: u.dest})
				continue
			}
			if err := writeFileEntry(ctx, tw, hdr, u.src, buf); err != nil {
				return nil, err
			}
		}
	}
	if chown != "" {
		if err := writeChownList(tw, plan, now); err != nil {
			return nil, err
		}
	}
	return big, nil
}

// writeFileEntry streams one regular file, checking ctx every
// cancelCheckEvery bytes. The size is the open file's, so a file that
// changes during the copy is caught rather than sent torn.
func writeFileEntry(ctx context.Context, tw *tar.Writer, hdr *tar.Header, src buildcontext.File, buf []byte) error {
	f, err := os.Open(src.Abs)
	if err != nil {
		return &localError{fmt.Errorf("reading %s: %w", src.Rel, err)}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return &localError{fmt.Errorf("reading %s: %w", src.Rel, err)}
	}
	hdr.Size = st.Size()
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	var sent int64
	for sent < hdr.Size {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, rerr := io.ReadFull(f, buf[:min(int64(len(buf)), hdr.Size-sent)])
		if n > 0 {
			if _, err := tw.Write(buf[:n]); err != nil {
				return err
			}
			sent += int64(n)
		}
		if rerr != nil {
			if sent < hdr.Size {
				return &localError{fmt.Errorf("reading %s: it shrank during the copy (%d of %d bytes)", src.Rel, sent, hdr.Size)}
			}
			break
		}
	}
	return nil
}

// writeChownList appends the chownListName entry: every planned path,
// NUL-separated (no path can contain NUL, so no quoting is needed).
func writeChownList(tw *tar.Writer, plan []upload, now time.Time) error {
	var list strings.Builder
	seen := map[string]bool{}
	for _, u := range plan {
		if !seen[u.dest] {
			seen[u.dest] = true
			list.WriteString(u.dest)
			list.WriteByte(0)
		}
	}
	if list.Len() == 0 {
		return nil
	}
	hdr := &tar.Header{Name: chownListName, Typeflag: tar.TypeReg, Mode: 0o600, Size: int64(list.Len()), ModTime: now}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err := io.WriteString(tw, list.String())
	return err
}

// destDirs is the directory a COPY creates before writing, depending on
// whether its destination is an existing directory: a single file copied
// to a file path needs only the parent (creating the path itself would
// turn "COPY a.txt b.txt" into b.txt/a.txt).
func destDirs(cp *dockerfile.CopyStep, matches []buildcontext.SourceMatch) (ifDir, other string) {
	dest := strings.TrimSuffix(cp.Dest, "/")
	if dest == "" {
		dest = "/"
	}
	if singleFileSource(cp, matches) {
		return dest, path.Dir(dest)
	}
	return dest, dest
}

// Large files travel beside the tar stream, over bigFileChannels SFTP
// channels at once: one SSH channel carries at most its window per round
// trip (2 MiB: ~100 MB/s at 20 ms RTT), and one stream through the VM's
// tar is one process's throughput. The tar stream creates each as an empty
// placeholder with its mode (and owner, for --chown) first; the ranges
// then fill it in place.
const (
	bigFileThreshold = 8 << 20
	bigFileRange     = 16 << 20
	bigFileChannels  = 8
)

// bigFile is a file sent beside the tar stream.
type bigFile struct {
	src  buildcontext.File
	dest string
}

// fileRange is one piece of a bigFile.
type fileRange struct {
	file     bigFile
	off, len int64
}

// sendBigFiles fills the placeholders of big in parallel ranges. Cancelling
// ctx closes the connection, which stops every range mid-write.
func sendBigFiles(ctx context.Context, conn *vers.SSHConn, big []bigFile) error {
	var jobs []fileRange
	for _, f := range big {
		for off := int64(0); off < f.src.Size; off += bigFileRange {
			jobs = append(jobs, fileRange{file: f, off: off, len: min(bigFileRange, f.src.Size-off)})
		}
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	queue := make(chan fileRange)
	g, gctx := errgroup.WithContext(ctx)
	// A server may cap the channels per connection (OpenSSH: MaxSessions,
	// 10 by default); a worker that cannot open one leaves the ranges to
	// the others, and only when none could does the copy fail.
	workers := min(bigFileChannels, len(jobs))
	var mu sync.Mutex
	alive := workers
	for range workers {
		g.Go(func() error {
			client, err := conn.NewSFTP()
			if err != nil {
				mu.Lock()
				defer mu.Unlock()
				alive--
				if alive == 0 {
					return err
				}
				return nil
			}
			defer client.Close()
			return sendRanges(gctx, client, queue)
		})
	}
	g.Go(func() error {
		defer close(queue)
		for _, j := range jobs {
			select {
			case queue <- j:
			case <-gctx.Done():
				return nil
			}
		}
		return nil
	})
	err := g.Wait()
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case isLocal(err):
		return err
	}
	var se *sftp.StatusError
	if errors.As(err, &se) {
		return fmt.Errorf("writing a large file in the VM: %w", err)
	}
	return fmt.Errorf("sending a large file to the builder VM: %w (%w)", vers.ErrConnectionLost, err)
}

// sendRanges writes the ranges it takes from queue over one SFTP channel,
// keeping the remote file open while consecutive ranges share it.
func sendRanges(ctx context.Context, client *sftp.Client, queue <-chan fileRange) error {
	var err error
	var remote *sftp.File
	var local *os.File
	var current string
	closeAll := func() error {
		var err error
		if remote != nil {
			err = remote.Close()
			local.Close()
			remote, local = nil, nil
		}
		return err
	}
	defer closeAll()
	for j := range queue {
		if j.file.dest != current {
			if err := closeAll(); err != nil {
				return err
			}
			current = j.file.dest
			if local, err = os.Open(j.file.src.Abs); err != nil {
				return &localError{fmt.Errorf("reading %s: %w", j.file.src.Rel, err)}
			}
			if remote, err = client.OpenFile(j.file.dest, os.O_WRONLY); err != nil {
				local.Close()
				remote, local = nil, nil
				return fmt.Errorf("opening %s in the VM: %w", j.file.dest, err)
			}
		}
		if _, err := remote.Seek(j.off, io.SeekStart); err != nil {
			return err
		}
		src := &rangeReader{ctx: ctx, r: io.NewSectionReader(local, j.off, j.len), size: j.len}
		n, err := remote.ReadFromWithConcurrency(src, 0)
		if src.err != nil {
			return src.err
		}
		if err != nil {
			return err
		}
		if n != j.len {
			return &localError{fmt.Errorf("reading %s: it shrank during the copy", j.file.src.Rel)}
		}
	}
	return closeAll()
}

// rangeReader is one range of a local file: it stops when ctx ends and
// reports its size, which lets pkg/sftp pipeline the writes. Read errors
// are kept, marked local.
type rangeReader struct {
	ctx  context.Context
	r    io.Reader
	size int64
	err  error
}

func (r *rangeReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		r.err = err
		return 0, err
	}
	n, err := r.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		r.err = &localError{err}
	}
	return n, err
}

func (r *rangeReader) Size() int64 { return r.size }
