package build

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/vers-sh/terraform-provider-vers/internal/dockerfile"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// copySource is the commit a COPY --from reads: the last commit of an
// earlier stage, or the commit a Vers reference named when the build began.
func (ex *executor) copySource(from *dockerfile.CopyFrom) (string, error) {
	var c string
	if from.Stage >= 0 {
		c = ex.stageCommits[from.Stage]
	} else {
		c = ex.refs[from.Ref.Ref]
	}
	if c == "" || strings.HasPrefix(c, "scratch:") {
		return "", errors.New("the source stage has no files: it is FROM scratch and runs no RUN, COPY or ADD")
	}
	return c, nil
}

// sourceVM is a VM booted from another stage's commit to read files from.
type sourceVM struct {
	id   string
	conn *vers.SSHConn
}

// bootSource boots a VM on commit to read from; release deletes it.
func (ex *executor) bootSource(ctx context.Context, commit string) (*sourceVM, func(), error) {
	out, err := ex.api.CreateVMFromCommit(ctx, vers.FromCommitRequest{CommitID: commit})
	if err != nil {
		return nil, func() {}, fmt.Errorf("booting a VM on the source commit %s: %w", commit, err)
	}
	src := &sourceVM{id: out.VMID}
	release := func() {
		if src.conn != nil {
			src.conn.Close()
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ex.opts.CleanupTimeout)
		defer cancel()
		_, _ = ex.api.DeleteVM(cctx, src.id)
	}
	ex.booted++
	// Labelled like a builder, so the sweeper reaps it if this process dies.
	if err := ex.api.SetVMLabels(ctx, src.id, builderLabels(ctx, ex.opts.BuildID, time.Now())); err != nil {
		return nil, release, fmt.Errorf("labelling source VM %s: %w", src.id, err)
	}
	if err := ex.api.WaitForVMRunning(ctx, src.id, ex.opts.PollInterval); err != nil {
		return nil, release, fmt.Errorf("waiting for source VM %s: %w", src.id, err)
	}
	if src.conn, err = ex.api.DialSSH(ctx, src.id); err != nil {
		return nil, release, fmt.Errorf("connecting to source VM %s: %w", src.id, err)
	}
	return src, release, nil
}

// remoteMatch is one path a COPY --from source names in the source VM.
type remoteMatch struct {
	rel   string // relative to /, "." for the root
	isDir bool
}

// resolveRemote expands the sources (wildcards included) in the source
// VM's filesystem, as BuildKit does in the source stage.
func resolveRemote(src *sourceVM, sources []string) ([]remoteMatch, error) {
	client, err := src.conn.SFTP()
	if err != nil {
		return nil, fmt.Errorf("reading the source filesystem: %w", err)
	}
	var out []remoteMatch
	for _, s := range sources {
		abs := path.Clean("/" + s)
		names := []string{abs}
		if strings.ContainsAny(s, "*?[") {
			if names, err = client.Glob(abs); err != nil {
				return nil, fmt.Errorf("matching %s: %w", abs, err)
			}
			if len(names) == 0 {
				return nil, fmt.Errorf("no files match %s in the source", abs)
			}
		}
		for _, n := range names {
			st, err := client.Lstat(n)
			if err != nil {
				return nil, fmt.Errorf("%s does not exist in the source (%v)", n, err)
			}
			rel := strings.TrimPrefix(path.Clean(n), "/")
			if rel == "" {
				rel = "."
			}
			out = append(out, remoteMatch{rel: rel, isDir: st.IsDir()})
		}
	}
	return out, nil
}

// copyFromStep runs COPY --from: a tar of the sources streams from a VM on
// the source commit straight into the builder's tar, renamed to the
// destination on the way, so nothing is staged on this machine beyond the
// stream's buffer.
func (ex *executor) copyFromStep(ctx context.Context, step dockerfile.Step) (bool, error) {
	cp := step.Copy
	commit, err := ex.copySource(cp.From)
	if err != nil {
		return false, err
	}
	src, release, err := ex.bootSource(ctx, commit)
	defer release()
	if err != nil {
		return false, err
	}
	matches, err := resolveRemote(src, cp.Sources)
	if err != nil {
		return false, err
	}
	if len(matches) > 1 && !cp.DestIsDir {
		return false, fmt.Errorf("the sources match %d paths, so the destination must be a directory: end it with a slash", len(matches))
	}
	dest := cleanDest(cp)
	ifDir, other := dest, dest
	if !cp.DestIsDir && len(matches) == 1 && !matches[0].isDir {
		other = path.Dir(dest)
	}
	t := tarTarget{WorkDir: step.WorkDir, User: step.User, Dest: dest, DirIfDir: ifDir, DirOther: other, Chown: cp.Chown}
	mode, hasChmod := cp.FileMode()
	conn, err := ex.sshConn(ctx)
	if err != nil {
		return false, err
	}
	err = streamTar(ctx, conn, t, func(tw *tar.Writer, destIsDir bool) error {
		return relayTar(ctx, src, matches, tw, relayOpts{dest: dest, intoDir: destIsDir || cp.DestIsDir, chmod: mode, hasChmod: hasChmod, chown: cp.Chown})
	})
	if errors.Is(err, errNoTar) {
		return false, errors.New("COPY --from needs tar in the image being built, and it has none")
	}
	return err == nil, err
}

type relayOpts struct {
	dest     string // clean absolute destination
	intoDir  bool   // a file source goes into dest rather than becoming it
	chmod    fs.FileMode
	hasChmod bool
	chown    string
}

// relayTar reads `tar -c` of the matches from the source VM and writes each
// entry to tw under its destination name. Owners are kept (as COPY --from
// does in Docker) unless --chown is set.
func relayTar(ctx context.Context, src *sourceVM, matches []remoteMatch, tw *tar.Writer, o relayOpts) error {
	args := make([]string, len(matches))
	for i, m := range matches {
		args[i] = m.rel
	}
	stderr := &tailBuffer{max: 20}
	rc, err := src.conn.Start(ctx, "tar -c -f - -C / -- "+shellJoin(args), stderr)
	if err != nil {
		return &localError{fmt.Errorf("starting tar in the source VM: %w", err)}
	}
	rc.Stdin.Close()
	tr := tar.NewReader(rc.Stdout)
	var chowned []upload
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			rc.Abort()
			return &localError{fmt.Errorf("reading the source's tar stream: %w (%s)", err, strings.TrimSpace(stderr.String()))}
		}
		name, ok := renameEntry(hdr.Name, matches, o)
		if !ok {
			continue
		}
		out := *hdr
		out.Name = strings.TrimPrefix(name, "/")
		if hdr.Typeflag == tar.TypeDir {
			out.Name += "/"
		}
		if hdr.Typeflag == tar.TypeLink {
			ln, ok := renameEntry(hdr.Linkname, matches, o)
			if !ok {
				continue // a hard link to a file outside the copy
			}
			out.Linkname = strings.TrimPrefix(ln, "/")
		}
		if o.chown != "" {
			out.Uid, out.Gid, out.Uname, out.Gname = 0, 0, "", ""
			chowned = append(chowned, upload{dest: name})
		}
		if o.hasChmod && (hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeDir) {
			out.Mode = tarMode(o.chmod)
		}
		if err := tw.WriteHeader(&out); err != nil {
			rc.Abort()
			return err
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := io.Copy(tw, tr); err != nil {
				rc.Abort()
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			rc.Abort()
			return err
		}
	}
	code, err := rc.Wait()
	if err != nil {
		return &localError{fmt.Errorf("tar in the source VM: %w", err)}
	}
	if code != 0 {
		return &localError{fmt.Errorf("tar in the source VM exited with %d: %s", code, strings.TrimSpace(stderr.String()))}
	}
	if o.chown != "" {
		return writeChownList(tw, chowned, time.Now().Truncate(time.Second))
	}
	return nil
}

// renameEntry maps a source tar entry to its absolute destination, with
// Docker's COPY rules: a directory's contents go into dest, a file goes to
// dest (or into it when dest is a directory or there are several sources).
func renameEntry(name string, matches []remoteMatch, o relayOpts) (string, bool) {
	rel := strings.TrimPrefix(path.Clean("/"+name), "/")
	for _, m := range matches {
		switch {
		case m.rel == ".":
			if rel == "" {
				return "", false
			}
			return path.Join(o.dest, rel), true
		case rel == m.rel:
			if m.isDir {
				return "", false // the directory itself: dest stands for it
			}
			if o.intoDir || len(matches) > 1 {
				return path.Join(o.dest, path.Base(m.rel)), true
			}
			return o.dest, true
		case m.isDir && strings.HasPrefix(rel, m.rel+"/"):
			return path.Join(o.dest, rel[len(m.rel)+1:]), true
		}
	}
	return "", false
}
