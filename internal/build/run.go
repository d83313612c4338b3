package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"

	"github.com/vers-sh/terraform-provider-vers/internal/dockerfile"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// tailLines is how much of a failing RUN's output the error shows.
const tailLines = 50

// defaultPath is Docker's PATH for a RUN whose ENV sets none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// runStep executes a RUN through the exec stream API with the step's ENV,
// WORKDIR and USER, and reports whether the guest's page cache is already
// flushed. Without mounts the WORKDIR and the flush travel in the RUN's own
// exec (runWrapSh): a RUN layer costs that exec and its commit.
func (ex *executor) runStep(ctx context.Context, step dockerfile.Step) (synced bool, err error) {
	mounts := len(step.Run.Mounts) > 0
	if mounts {
		// A mount target inside a missing WORKDIR would otherwise create
		// the WORKDIR as root before the wrapper could give it to USER;
		// and the flush must follow the mounts' teardown, not the command.
		if err := ex.ensureWorkDir(ctx, step); err != nil {
			return false, err
		}
	}
	env := map[string]string{}
	for _, e := range step.Env {
		env[e.Name] = e.Value
	}
	if _, ok := env["PATH"]; !ok {
		env["PATH"] = defaultPath
	}
	cmd := step.Run.Command
	if step.Run.PrependShell && len(cmd) >= 3 && isPosixShell(cmd[0]) {
		// One stream in the order the script wrote it: stdout and stderr
		// read from two pipes arrive in any order, and the error line a user
		// needs is usually the last thing on stderr.
		cmd = append(cloneStrings(cmd[:len(cmd)-1]), "exec 2>&1\n"+cmd[len(cmd)-1])
	}
	if step.User != "" {
		cmd = asUser(step.User, envSets(step.Env, "HOME"), cmd)
	}
	if mounts {
		ms, merr := ex.setupMounts(ctx, step)
		defer func() {
			// Before the commit, whatever happened: a secret must never
			// reach a snapshot.
			tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ex.opts.CleanupTimeout)
			defer cancel()
			if terr := ms.teardown(tctx); terr != nil {
				err = errors.Join(err, terr)
			}
		}()
		if merr != nil {
			return false, merr
		}
		cmd = ms.wrap(cmd)
	}
	cmd = runWrap(step, env, !mounts, cmd)
	stream, err := ex.api.ExecStream(ctx, ex.vmID, vers.ExecRequest{Command: cmd, Env: env})
	if err != nil {
		return false, err
	}
	tail := &tailBuffer{max: tailLines}
	code, err := copyWithReattach(ctx, ex.api, ex.vmID, stream, tail)
	if err != nil {
		return false, fmt.Errorf("%w\n--- last lines of output ---\n%s", err, redact(tail.String(), ex.prep.Spec.Secrets))
	}
	if code != 0 {
		return false, &StepError{File: ex.prep.DockerfileName, Line: step.StartLine, Instruction: step.Original, ExitCode: code, OutputTail: redact(tail.String(), ex.prep.Spec.Secrets)}
	}
	return !mounts, nil
}

// runWrapSh runs a RUN's command as vers-run WORKDIR USER ARGV...: it
// creates the missing WORKDIR components owned by USER (make_workdir, in a
// subshell so its variables never reach the command's environment, with
// the default PATH as a separate exec had, whatever ENV PATH says), enters
// the WORKDIR and runs ARGV. runWrap appends how the environment is put
// back and how ARGV runs. ARGV runs through exec, which searches PATH for a
// program as the exec API would and never picks a shell builtin or
// function: exec-form ["echo", "a\\n"] must run /bin/echo, not dash's echo.
const runWrapSh = makeWorkDirFn + `
if [ -n "$1" ] && [ "$1" != / ]; then
	( PATH=` + defaultPath + `; make_workdir "$1" "$2" ) || { echo "creating WORKDIR $1 failed" >&2; exit 1; }
fi
cd -- "${1:-/}" || exit 1
unset -f make_workdir resolve_user
shift 2
`

// runWrapSyncTail runs the command in a child, and after a success flushes
// the guest's page cache before the exec ends, so the commit that follows
// needs no exec of its own for it (Vers snapshots the disk; versd's commit
// syncs too). The exit status is the command's: a command killed by signal
// n gives 128+n, as the exec API reports it without the wrapper. A failed
// step is never committed, so it needs no flush.
const runWrapSyncTail = `( exec "$@" )
rc=$?
if [ "$rc" -eq 0 ]; then command -p sync 2>/dev/null; fi
exit "$rc"
`

// runWrap wraps argv in runWrapSh. The shell exports PWD and OLDPWD (and
// bash SHLVL) of its own; they are put back to what the step's environment
// says (usually: absent), so the command sees exactly env. With sync the wrapper
// flushes the page cache after a successful command (runWrapSyncTail);
// without, it execs the command and is gone.
func runWrap(step dockerfile.Step, env map[string]string, sync bool, argv []string) []string {
	var script strings.Builder
	script.WriteString(runWrapSh)
	for _, name := range []string{"PWD", "OLDPWD", "SHLVL"} {
		if v, ok := env[name]; ok {
			fmt.Fprintf(&script, "%s=%s; export %s\n", name, shellJoin([]string{v}), name)
		} else {
			fmt.Fprintf(&script, "unset %s\n", name)
		}
	}
	if sync {
		script.WriteString(runWrapSyncTail)
	} else {
		script.WriteString("exec \"$@\"\n")
	}
	return append([]string{"/bin/sh", "-c", script.String(), "vers-run", step.WorkDir, step.User}, argv...)
}

// redact hides secret values a failing command printed, so they reach no
// error message or log.
func redact(out string, secrets map[string]string) string {
	for _, v := range secrets {
		if len(v) >= 3 {
			out = strings.ReplaceAll(out, v, "[secret]")
		}
	}
	return out
}

// isPosixShell tells whether a SHELL understands "exec 2>&1".
func isPosixShell(prog string) bool {
	switch path.Base(prog) {
	case "sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "busybox":
		return true
	}
	return false
}

func cloneStrings(s []string) []string { return append([]string(nil), s...) }

// maxReattach bounds how often one RUN re-attaches to a cut stream.
const maxReattach = 5

// copyWithReattach copies a RUN's output to the end. A stream cut mid-way
// (a proxy timeout, a dropped connection) is re-attached from the last
// cursor seen, so the command neither runs twice nor loses output, and a
// cut is never mistaken for success: only an exit line ends the step.
func copyWithReattach(ctx context.Context, api API, vmID string, stream *vers.ExecStream, out *tailBuffer) (int, error) {
	for attempt := 0; ; attempt++ {
		code, err := stream.Copy(out, out)
		stream.Close()
		if err == nil || !errors.Is(err, vers.ErrStreamCut) || attempt == maxReattach || ctx.Err() != nil {
			return code, err
		}
		cursor := stream.Cursor()
		next, aerr := api.AttachExecStream(ctx, vmID, vers.ExecAttachRequest{ExecID: stream.ExecID(), Cursor: &cursor})
		if aerr != nil {
			return -1, fmt.Errorf("%w; re-attaching failed: %v", err, aerr)
		}
		stream = next
	}
}

// shellJoin quotes argv for /bin/sh.
func shellJoin(argv []string) string {
	quoted := make([]string, len(argv))
	for i, a := range argv {
		quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(quoted, " ")
}

// tailBuffer keeps the last max lines written to it (stdout and stderr
// interleaved as they arrive).
type tailBuffer struct {
	mu      sync.Mutex
	max     int
	lines   []string
	partial bytes.Buffer
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.partial.Write(p)
	for {
		b := t.partial.Bytes()
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			break
		}
		t.lines = append(t.lines, string(b[:i]))
		t.partial.Next(i + 1)
		if len(t.lines) > t.max {
			t.lines = t.lines[len(t.lines)-t.max:]
		}
	}
	// Bound a line without newlines.
	if t.partial.Len() > 64<<10 {
		t.partial.Next(t.partial.Len() - 64<<10)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := append([]string(nil), t.lines...)
	if t.partial.Len() > 0 {
		lines = append(lines, t.partial.String())
	}
	if len(lines) > t.max {
		lines = lines[len(lines)-t.max:]
	}
	return strings.Join(lines, "\n")
}
