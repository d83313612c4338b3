package vers

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxStreamLine is the longest NDJSON line an ExecStream accepts. The CLI
// buffers 16 MiB lines; we allow a 16 MiB chunk of raw output, which is
// about 21.4 MiB once base64-encoded and wrapped in JSON.
const MaxStreamLine = 32 << 20

// ExecStream reads the NDJSON output of POST /vm/{id}/exec/stream (and
// /attach). Lines may arrive split across reads; blank lines and lines
// that are not JSON objects with a "type" are skipped, as the CLI does.
// It is not safe for concurrent use.
type ExecStream struct {
	ctx    context.Context
	body   io.Closer
	scan   *bufio.Scanner
	execID string
	cursor int64
	done   bool // an exit or error line was returned
}

func newExecStream(ctx context.Context, body io.ReadCloser, execID string, cursor int64) *ExecStream {
	s := NewExecStreamReader(ctx, body, execID, cursor)
	s.body = body
	return s
}

// NewExecStreamReader reads an exec stream from r (tests, versd replays).
// execID and cursor seed ExecID and Cursor until lines carry their own.
func NewExecStreamReader(ctx context.Context, r io.Reader, execID string, cursor int64) *ExecStream {
	scan := bufio.NewScanner(r)
	scan.Buffer(make([]byte, 0, 64<<10), MaxStreamLine)
	return &ExecStream{ctx: ctx, scan: scan, execID: execID, cursor: cursor}
}

// ExecID is the command's exec id, for AttachExecStream.
func (s *ExecStream) ExecID() string { return s.execID }

// Cursor is the cursor of the last line read; re-attach with it to resume
// right after the output already delivered.
func (s *ExecStream) Cursor() int64 { return s.cursor }

// Next returns the next line. After an exit or error line it returns
// io.EOF. If the stream ends or breaks before that, the error wraps
// ErrStreamCut; if ctx ended, it is ctx.Err().
func (s *ExecStream) Next() (StreamLine, error) {
	if s.done {
		return StreamLine{}, io.EOF
	}
	for s.scan.Scan() {
		raw := bytes.TrimSpace(s.scan.Bytes())
		if len(raw) == 0 || raw[0] != '{' {
			continue
		}
		var line StreamLine
		if err := json.Unmarshal(raw, &line); err != nil || line.Type == "" {
			continue
		}
		if line.ExecID != "" {
			s.execID = line.ExecID
		}
		if line.Cursor > s.cursor {
			s.cursor = line.Cursor
		}
		if line.Type == StreamLineExit || line.Type == StreamLineError {
			s.done = true
		}
		return line, nil
	}
	err := s.scan.Err()
	if s.ctx != nil && s.ctx.Err() != nil {
		return StreamLine{}, s.ctx.Err()
	}
	switch {
	case err == nil:
		return StreamLine{}, ErrStreamCut
	case errors.Is(err, bufio.ErrTooLong):
		return StreamLine{}, fmt.Errorf("vers exec stream: a line is longer than %d bytes", MaxStreamLine)
	default:
		return StreamLine{}, fmt.Errorf("%w: %v", ErrStreamCut, err)
	}
}

// Copy writes the decoded output chunks to stdout and stderr (either may be
// nil to discard) until the exit line, and returns the exit code. An error
// line becomes an *ExecStreamError; an early end wraps ErrStreamCut.
func (s *ExecStream) Copy(stdout, stderr io.Writer) (int, error) {
	for {
		line, err := s.Next()
		if err == io.EOF {
			return -1, errors.New("vers exec stream: already finished")
		}
		if err != nil {
			return -1, err
		}
		switch line.Type {
		case StreamLineChunk:
			data, err := base64.StdEncoding.DecodeString(line.DataB64)
			if err != nil {
				return -1, fmt.Errorf("vers exec stream: chunk at cursor %d is not base64: %w", line.Cursor, err)
			}
			w := stdout
			if line.Stream == "stderr" {
				w = stderr
			}
			if w != nil && len(data) > 0 {
				if _, err := w.Write(data); err != nil {
					return -1, err
				}
			}
		case StreamLineExit:
			// The CLI reads a missing exit_code as 0; do the same.
			if line.ExitCode == nil {
				return 0, nil
			}
			return *line.ExitCode, nil
		case StreamLineError:
			return -1, &ExecStreamError{Code: line.Code, Message: line.Message}
		}
	}
}

// Close releases the connection. It is safe to call more than once.
func (s *ExecStream) Close() error {
	if s.body == nil {
		return nil
	}
	err := s.body.Close()
	s.body = nil
	return err
}
