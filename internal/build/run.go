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

// runStep executes a RUN through the exec stream API with the step's ENV,
// WORKDIR and USER.
func (ex *executor) runStep(ctx context.Context, step dockerfile.Step) (err error) {
	if err := ex.ensureWorkDir(ctx, step); err != nil {
		return err
	}
	env := map[string]string{}
	for _, e := range step.Env {
		env[e.Name] = e.Value
	}
	if _, ok := env["PATH"]; !ok {
		env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
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
	if len(step.Run.Mounts) > 0 {
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
			return merr
		}
		cmd = ms.wrap(cmd)
	}
	stream, err := ex.api.ExecStream(ctx, ex.vmID, vers.ExecRequest{Command: cmd, Env: env, WorkingDir: step.WorkDir})
	if err != nil {
		return err
	}
	tail := &tailBuffer{max: tailLines}
	code, err := copyWithReattach(ctx, ex.api, ex.vmID, stream, tail)
	if err != nil {
		return fmt.Errorf("%w\n--- last lines of output ---\n%s", err, redact(tail.String(), ex.prep.Spec.Secrets))
	}
	if code != 0 {
		return &StepError{File: ex.prep.DockerfileName, Line: step.StartLine, Instruction: step.Original, ExitCode: code, OutputTail: redact(tail.String(), ex.prep.Spec.Secrets)}
	}
	return nil
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
