package build

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/vers-sh/terraform-provider-vers/internal/dockerfile"
)

// RUN --mount is emulated in the builder VM, whose snapshot is the layer:
// whatever a mount provides is put in place before the RUN and removed
// before the commit.
//   - cache and tmpfs: an empty directory at the target for this RUN (what
//     was there is moved aside and put back). The cache does not persist
//     between RUNs or builds: correct, only slower, as BuildKit allows.
//   - bind: the source (context or earlier stage) is copied to the target
//     and removed afterwards; writes are discarded.
//   - secret: the value travels over the SSH channel's stdin (never in a
//     command line, an environment sent to the API, or a log) into a file
//     at the target, or a private file read into the variable. Where the
//     VM may mount, its directory is a tmpfs; otherwise the file is
//     overwritten with zeros and removed before the commit.

// mountPrepSh moves what is at TARGET aside to STASH and, when MKDIR is 1,
// creates TARGET as an empty directory.
const mountPrepSh = `t=$1 stash=$2 mk=$3
if [ -e "$t" ] || [ -L "$t" ]; then mv -- "$t" "$stash" || exit 1; fi
if [ "$mk" = 1 ]; then mkdir -p -- "$t" || exit 1; fi
exit 0
`

// mountUndoSh removes TARGET and puts STASH back; with KEEP=1 an empty
// directory stays as the mount point (Docker leaves mount points too).
const mountUndoSh = `t=$1 stash=$2 keep=$3
rm -rf -- "$t" || exit 1
if [ -e "$stash" ] || [ -L "$stash" ]; then mv -- "$stash" "$t" || exit 1
elif [ "$keep" = 1 ]; then mkdir -p -- "$t" || exit 1; fi
exit 0
`

// secretWriteSh writes stdin to FILE (mode MODE) after creating its
// missing parent directories, mounting a tmpfs on the topmost one it
// created when the VM allows. It prints the created directories (deepest
// last) and "tmpfs" when it mounted.
const secretWriteSh = `f=$1 mode=$2 stash=$3
umask 077
d=${f%/*}; [ -n "$d" ] || d=/
set --
c=$d
while [ -n "$c" ] && [ "$c" != / ] && [ ! -e "$c" ]; do set -- "$c" "$@"; c=${c%/*}; done
if [ $# -gt 0 ]; then
	mkdir -p -- "$d" || exit 1
	chmod 755 -- "$@"
	for x in "$@"; do echo "dir $x"; done
	if mount -t tmpfs -o size=4m,mode=0755 tmpfs "$1" 2>/dev/null; then echo "tmpfs $1"; mkdir -p -- "$d" || exit 1; fi
fi
if [ -e "$f" ] || [ -L "$f" ]; then mv -- "$f" "$stash" || exit 1; fi
cat > "$f" || exit 1
chmod "$mode" "$f" || exit 1
exit 0
`

// secretUndoSh overwrites and removes FILE, puts STASH back, unmounts
// TMPFS (may be "") and removes the directories created for it (listed
// deepest last).
const secretUndoSh = `f=$1 stash=$2 tmp=$3
shift 3
if [ -f "$f" ] && [ ! -L "$f" ]; then
	n=$(wc -c < "$f")
	[ "$n" -gt 0 ] && dd if=/dev/zero of="$f" bs="$n" count=1 conv=notrunc 2>/dev/null
fi
rm -f -- "$f" || exit 1
if [ -e "$stash" ] || [ -L "$stash" ]; then mv -- "$stash" "$f" || exit 1; fi
if [ -n "$tmp" ]; then umount "$tmp" || exit 1; fi
i=$#
while [ $i -gt 0 ]; do eval "x=\${$i}"; rmdir -- "$x" 2>/dev/null; i=$((i-1)); done
exit 0
`

// mountSet tracks one RUN's mounts so they can be undone.
type mountSet struct {
	ex      *executor
	undo    []string // shell commands, run in reverse order
	envFile map[string]string
	envOrd  []string
}

// stashPath is where what a mount hides waits for the RUN to end.
func stashPath(target string) string { return target + ".vers-mount-stash" }

// setupMounts puts a RUN's mounts in place. The returned set's teardown
// must run before the step is committed, whatever happened.
func (ex *executor) setupMounts(ctx context.Context, step dockerfile.Step) (*mountSet, error) {
	ms := &mountSet{ex: ex, envFile: map[string]string{}}
	for i, m := range step.Run.Mounts {
		switch m.Type {
		case dockerfile.MountCache, dockerfile.MountTmpfs:
			if err := ms.sh(ctx, mountPrepSh, m.Target, stashPath(m.Target), "1"); err != nil {
				return ms, fmt.Errorf("preparing the %s mount at %s: %w", m.Type, m.Target, err)
			}
			ms.undo = append(ms.undo, scriptCmd(mountUndoSh, m.Target, stashPath(m.Target), "1"))
		case dockerfile.MountBind:
			if err := ms.sh(ctx, mountPrepSh, m.Target, stashPath(m.Target), "0"); err != nil {
				return ms, fmt.Errorf("preparing the bind mount at %s: %w", m.Target, err)
			}
			ms.undo = append(ms.undo, scriptCmd(mountUndoSh, m.Target, stashPath(m.Target), "1"))
			if err := ex.bindCopy(ctx, step, m); err != nil {
				return ms, fmt.Errorf("bind mount at %s: %w", m.Target, err)
			}
		case dockerfile.MountSecret:
			value, ok := ex.prep.Spec.Secrets[m.ID]
			if !ok {
				if m.Required {
					return ms, &MissingSecretError{File: ex.prep.DockerfileName, Line: step.StartLine, ID: m.ID}
				}
				continue // an optional secret that was not given: no file, as in BuildKit
			}
			file := m.Target
			if file == "" {
				file = "/run/vers-build-secrets/" + strconv.Itoa(i)
			}
			if err := ms.writeSecret(ctx, file, value); err != nil {
				return ms, fmt.Errorf("secret %q: %w", m.ID, err)
			}
			if m.Env != "" {
				ms.envFile[m.Env] = file
				ms.envOrd = append(ms.envOrd, m.Env)
			}
		}
	}
	return ms, nil
}

// writeSecret sends value through stdin into file and records its undo.
func (ms *mountSet) writeSecret(ctx context.Context, file, value string) error {
	conn, err := ms.ex.sshConn(ctx)
	if err != nil {
		return err
	}
	var out, errb bytes.Buffer
	code, err := conn.Run(ctx, "/bin/sh -c "+shellJoin([]string{secretWriteSh, "vers-secret", file, "0400", stashPath(file)}), strings.NewReader(value), &out, &errb)
	var dirs []string
	tmp := ""
	for _, line := range strings.Split(out.String(), "\n") {
		if d, ok := strings.CutPrefix(line, "dir "); ok {
			dirs = append(dirs, d)
		}
		if d, ok := strings.CutPrefix(line, "tmpfs "); ok {
			tmp = d
		}
	}
	// Undo even after a failure: part of the file may exist.
	ms.undo = append(ms.undo, scriptCmd(secretUndoSh, append([]string{file, stashPath(file), tmp}, dirs...)...))
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("writing the secret file %s failed (exit %d): %s", file, code, strings.TrimSpace(errb.String()))
	}
	return nil
}

// sh runs a script over SSH as root.
func (ms *mountSet) sh(ctx context.Context, script string, args ...string) error {
	conn, err := ms.ex.sshConn(ctx)
	if err != nil {
		return err
	}
	var errb bytes.Buffer
	code, err := conn.Run(ctx, scriptCmd(script, args...), strings.NewReader(""), io.Discard, &errb)
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("exit %d: %s", code, strings.TrimSpace(errb.String()))
	}
	return nil
}

func scriptCmd(script string, args ...string) string {
	return "/bin/sh -c " + shellJoin(append([]string{script, "vers-mount"}, args...))
}

// wrap makes the command export the secret variables first. The wrapper
// runs as root, reads the files (0400 root) and then execs the command,
// which may switch to the USER: the variables survive the switch.
func (ms *mountSet) wrap(cmd []string) []string {
	if len(ms.envOrd) == 0 {
		return cmd
	}
	var b strings.Builder
	for _, name := range ms.envOrd {
		fmt.Fprintf(&b, "%s=$(cat %s) || exit 1; export %s; ", name, shellJoin([]string{ms.envFile[name]}), name)
	}
	b.WriteString(`exec "$@"`)
	return append([]string{"/bin/sh", "-c", b.String(), "vers-secret-env"}, cmd...)
}

// teardown undoes the mounts in reverse order. It uses its own context:
// a cancelled build must still not leave a secret behind in a kept VM.
func (ms *mountSet) teardown(ctx context.Context) error {
	if len(ms.undo) == 0 {
		return nil
	}
	conn, err := ms.ex.sshConn(ctx)
	if err != nil {
		return fmt.Errorf("removing RUN mounts: %w", err)
	}
	for i := len(ms.undo) - 1; i >= 0; i-- {
		var errb bytes.Buffer
		code, err := conn.Run(ctx, ms.undo[i], strings.NewReader(""), io.Discard, &errb)
		if err != nil {
			return fmt.Errorf("removing RUN mounts: %w", err)
		}
		if code != 0 {
			return fmt.Errorf("removing RUN mounts failed (exit %d): %s", code, strings.TrimSpace(errb.String()))
		}
	}
	ms.undo = nil
	return nil
}

// bindCopy copies a bind mount's source to its target.
func (ex *executor) bindCopy(ctx context.Context, step dockerfile.Step, m dockerfile.Mount) error {
	cp := &dockerfile.CopyStep{Sources: []string{m.Source}, Dest: m.Target}
	bind := dockerfile.Step{Kind: dockerfile.KindCopy, StartLine: step.StartLine, Original: step.Original, WorkDir: "/", Copy: cp}
	if m.FromStage >= 0 {
		cp.From = &dockerfile.CopyFrom{Stage: m.FromStage}
		_, err := ex.copyFromStep(ctx, bind)
		return err
	}
	_, err := ex.copyStep(ctx, bind)
	return err
}

// MissingSecretError is a RUN that requires a secret the build was not
// given.
type MissingSecretError struct {
	File string
	Line int
	ID   string
}

func (e *MissingSecretError) Error() string {
	return fmt.Sprintf("%s:%d: RUN requires the secret %q (required=true), and no value was given for it", e.File, e.Line, e.ID)
}

// CheckSecrets reports the first RUN of the needed stages that requires a
// secret missing from secrets. Only ids are compared.
func CheckSecrets(df *dockerfile.Dockerfile, secrets map[string]string, file string) error {
	for _, u := range df.Secrets() {
		if _, ok := secrets[u.ID]; u.Required && !ok {
			return &MissingSecretError{File: file, Line: u.Line, ID: u.ID}
		}
	}
	return nil
}
