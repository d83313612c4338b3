package versd

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
	"github.com/vers-sh/terraform-provider-vers/internal/versd/store"
)

// decodeExec reads and checks an ExecRequest.
func decodeExec(r *http.Request) (vers.ExecRequest, error) {
	var req vers.ExecRequest
	if err := decodeJSON(r, &req, false); err != nil {
		return req, err
	}
	if len(req.Command) == 0 || req.Command[0] == "" {
		return req, badRequest("command is required: a non-empty array such as [\"sh\",\"-c\",\"echo hi\"]")
	}
	if req.TimeoutSecs < 0 || req.TimeoutSecs > maxTimeoutSecs {
		return req, badRequest("timeout_secs must be from 0 (no timeout) to %d (one week), got %d", maxTimeoutSecs, req.TimeoutSecs)
	}
	for k := range req.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return req, badRequest("env name %q is not valid", truncate(k, 40))
		}
	}
	if req.ExecID != "" && (len(req.ExecID) > 128 || !utf8.ValidString(req.ExecID)) {
		return req, badRequest("exec_id must be at most 128 characters")
	}
	return req, nil
}

// startExec checks the VM can run a command and starts it in the
// background; output goes to the returned record. The command outlives the
// HTTP request so a client whose stream broke can re-attach.
func (s *Server) startExec(r *http.Request, vm store.VM, req vers.ExecRequest) (*execRecord, error) {
	if vm.State == vers.VMStatePaused {
		return nil, conflict("VM is paused; resume it with PATCH /api/v1/vm/{id}/state {\"state\":\"Running\"}")
	}
	if s.vms.Dead(vm.ID) {
		return nil, mapRuntimeError(errVMDead)
	}
	if err := s.checkWorkingDir(r.Context(), vm, req.WorkingDir); err != nil {
		return nil, err
	}
	env, err := s.withAccountEnv(r.Context(), vm, req.Env)
	if err != nil {
		return nil, err
	}
	execID := req.ExecID
	if execID == "" {
		execID = uuid.NewString()
	}
	rec, ok := s.execs.start(vm.ID, execID)
	if !ok {
		return nil, conflict("exec_id %s is already in use; re-attach with POST /exec/stream/attach", execID)
	}
	spec := execSpec{Command: req.Command, Env: env, WorkingDir: req.WorkingDir, TimeoutSecs: req.TimeoutSecs}
	stdout := chunkWriter{reg: s.execs, rec: rec, stream: "stdout"}
	stderr := chunkWriter{reg: s.execs, rec: rec, stream: "stderr"}
	go func() {
		// The exec API has exit codes only: a signal is 128+n here, as a
		// shell reports it.
		st, err := s.vms.Exec(s.execCtx, vm.ID, spec, strings.NewReader(req.Stdin), stdout, stderr)
		code := st.Code
		if err != nil {
			apiErr := mapRuntimeError(err)
			s.execs.appendLine(rec, vers.StreamLine{Type: vers.StreamLineError, Code: "exec_failed", Message: apiErr.Error()})
			return
		}
		s.execs.appendLine(rec, vers.StreamLine{Type: vers.StreamLineExit, ExitCode: &code})
	}()
	return rec, nil
}

// exec runs a command and answers when it ends.
func (s *Server) exec(w http.ResponseWriter, r *http.Request) error {
	vm, err := s.getVM(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	req, err := decodeExec(r)
	if err != nil {
		return err
	}
	rec, err := s.startExec(r, vm, req)
	if err != nil {
		return err
	}
	if !rec.waitDone(r.Context()) {
		return nil // the client went away; the command finishes on its own
	}
	lines, _, _ := rec.after(0)
	var stdout, stderr []byte
	resp := vers.ExecResponse{ExecID: &rec.id}
	for _, l := range lines {
		switch l.Type {
		case vers.StreamLineChunk:
			data, _ := base64.StdEncoding.DecodeString(l.DataB64)
			if l.Stream == "stderr" {
				stderr = append(stderr, data...)
			} else {
				stdout = append(stdout, data...)
			}
		case vers.StreamLineExit:
			resp.ExitCode = *l.ExitCode
		case vers.StreamLineError:
			if strings.Contains(l.Message, "paused") {
				return conflict("%s", l.Message)
			}
			return errorf(http.StatusInternalServerError, "exec failed: %s", l.Message)
		}
	}
	// Output is UTF-8, lossily decoded, as the API documents.
	resp.Stdout, resp.Stderr = strings.ToValidUTF8(string(stdout), "\uFFFD"), strings.ToValidUTF8(string(stderr), "\uFFFD")
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// execStream runs a command and streams NDJSON lines as output arrives.
func (s *Server) execStream(w http.ResponseWriter, r *http.Request) error {
	vm, err := s.getVM(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	req, err := decodeExec(r)
	if err != nil {
		return err
	}
	rec, err := s.startExec(r, vm, req)
	if err != nil {
		return err
	}
	s.follow(w, r, rec, 0)
	return nil
}

// execAttach re-attaches to a running or finished exec.
func (s *Server) execAttach(w http.ResponseWriter, r *http.Request) error {
	vm, err := s.getVM(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	var req vers.ExecAttachRequest
	if err := decodeJSON(r, &req, false); err != nil {
		return err
	}
	if req.ExecID == "" {
		return badRequest("exec_id is required")
	}
	rec := s.execs.get(vm.ID, req.ExecID)
	if rec == nil {
		return notFound("exec %s not found on this VM (exec output is kept in memory and lost when versd restarts)", truncate(req.ExecID, 128))
	}
	var cursor int64
	switch {
	case req.FromLatest:
		cursor = rec.lastCursor()
		if _, done, _ := rec.after(cursor); done {
			cursor-- // a finished exec: replay its exit line instead of waiting forever
		}
	case req.Cursor != nil:
		if *req.Cursor < 0 || *req.Cursor > rec.lastCursor() {
			return badRequest("cursor %d is outside this exec's output (0 to %d)", *req.Cursor, rec.lastCursor())
		}
		cursor = *req.Cursor
	}
	if oldest := rec.oldest(); cursor+1 < oldest {
		return errorf(http.StatusGone, "output of exec %s before cursor %d was discarded to stay within versd's memory budget; re-attach with cursor %d or later, or from_latest",
			truncate(req.ExecID, 128), oldest, oldest-1)
	}
	s.follow(w, r, rec, cursor)
	return nil
}

// follow writes the exec's lines after cursor until the exit or error line.
// A cut-stream fault aborts the connection mid-way instead.
func (s *Server) follow(w http.ResponseWriter, r *http.Request, rec *execRecord, cursor int64) {
	cut := infoFrom(r.Context()).fault == FaultCutStream
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	written := 0
	for {
		lines, _, changed := rec.after(cursor)
		if len(lines) > 0 && lines[0].Cursor > cursor+1 {
			// This reader fell behind the memory budget: say so rather than
			// skip output silently.
			b, _ := json.Marshal(vers.StreamLine{Type: vers.StreamLineError, ExecID: rec.id, Code: "output_discarded",
				Message: fmt.Sprintf("output after cursor %d was discarded to stay within versd's memory budget; the command keeps running, re-attach from_latest", cursor)})
			_, _ = w.Write(append(b, '\n'))
			_ = rc.Flush()
			return
		}
		for _, l := range lines {
			final := l.Type != vers.StreamLineChunk
			if cut && (written > 0 || final) {
				_ = rc.Flush()
				panic(http.ErrAbortHandler) // drop the connection mid-stream
			}
			b, _ := json.Marshal(l)
			if _, err := w.Write(append(b, '\n')); err != nil {
				return
			}
			written++
			cursor = l.Cursor
			if final {
				_ = rc.Flush()
				return
			}
		}
		_ = rc.Flush()
		select {
		case <-changed:
		case <-r.Context().Done():
			return
		}
	}
}

// execLogs serves GET /vm/{id}/logs. offset counts entries (the real API
// calls it a byte offset; a client only passes back next_offset, so the
// unit does not matter to it).
func (s *Server) execLogs(w http.ResponseWriter, r *http.Request) error {
	vm, err := s.getVM(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	offset, err := pageParam(r, "offset", 0, 1<<62)
	if err != nil {
		return err
	}
	maxEntries, err := pageParam(r, "max_entries", maxVMLogEntries, maxVMLogEntries)
	if err != nil {
		return err
	}
	stream := r.URL.Query().Get("stream")
	if stream != "" && stream != "stdout" && stream != "stderr" {
		return badRequest("stream must be stdout or stderr, got %q", truncate(stream, 40))
	}
	writeJSON(w, http.StatusOK, s.execs.readLog(vm.ID, offset, int(maxEntries), stream))
	return nil
}

// checkWorkingDir answers 400 for a working_dir that is not a directory in
// the VM. Creating it silently would hide typos, and the exit code 126 the
// VM would give is indistinguishable from a command that cannot run. (The
// build engine creates WORKDIR itself before each step, so it never relies
// on either behaviour.)
func (s *Server) checkWorkingDir(ctx context.Context, vm store.VM, dir string) error {
	if dir == "" {
		return nil
	}
	fi, err := s.statInVM(ctx, vm.ID, dir)
	if err != nil || !fi.IsDir() {
		return badRequest("working_dir %q does not exist in VM %s or is not a directory; create it first (mkdir -p)", truncate(dir, 200), vm.ID)
	}
	return nil
}
