package vers

import (
	"context"
	"encoding/base64"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"

	"github.com/google/uuid"
)

// Exec runs a command to completion and returns its buffered output.
func (c *Client) Exec(ctx context.Context, vmID string, req ExecRequest) (*ExecResponse, error) {
	var out ExecResponse
	if err := c.doJSON(ctx, http.MethodPost, apiPath("/vm/%s/exec", vmID), nil, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ExecStream starts a command and returns its NDJSON output stream. When
// req.ExecID is empty the client picks one, so a cut stream can always be
// re-attached. Cancelling ctx aborts the stream.
func (c *Client) ExecStream(ctx context.Context, vmID string, req ExecRequest) (*ExecStream, error) {
	if req.ExecID == "" {
		req.ExecID = uuid.NewString()
	}
	resp, err := c.send(ctx, call{method: http.MethodPost, path: apiPath("/vm/%s/exec/stream", vmID), body: req, stream: true})
	if lostResponseConflict(err) {
		// An earlier attempt started the command but its response was lost;
		// the retry's 409 is our own exec_id: follow it from the start
		// instead of failing (or running the command twice).
		c.warn(ctx, "exec stream retried after a lost response; re-attaching to the running command", map[string]any{"vm_id": vmID, "exec_id": req.ExecID})
		return c.AttachExecStream(ctx, vmID, ExecAttachRequest{ExecID: req.ExecID})
	}
	if err != nil {
		return nil, err
	}
	return newExecStream(ctx, resp.stream, req.ExecID, 0), nil
}

// AttachExecStream re-attaches to a running or finished command. With a
// Cursor the server resumes after it (exclusive); FromLatest skips the
// retained backlog.
func (c *Client) AttachExecStream(ctx context.Context, vmID string, req ExecAttachRequest) (*ExecStream, error) {
	resp, err := c.send(ctx, call{method: http.MethodPost, path: apiPath("/vm/%s/exec/stream/attach", vmID), body: req, stream: true})
	if err != nil {
		return nil, err
	}
	var cursor int64
	if req.Cursor != nil {
		cursor = *req.Cursor
	}
	return newExecStream(ctx, resp.stream, req.ExecID, cursor), nil
}

// ExecLogsQuery selects a window of a VM's retained exec output.
type ExecLogsQuery struct {
	Offset     int64  // byte offset to start from
	MaxEntries int    // 0: server default
	Stream     string // "stdout", "stderr" or "" for both
}

// GetExecLogs reads retained exec output of a VM.
func (c *Client) GetExecLogs(ctx context.Context, vmID string, q ExecLogsQuery) (*ExecLogResponse, error) {
	query := url.Values{}
	if q.Offset > 0 {
		query.Set("offset", strconv.FormatInt(q.Offset, 10))
	}
	if q.MaxEntries > 0 {
		query.Set("max_entries", strconv.Itoa(q.MaxEntries))
	}
	if q.Stream != "" {
		query.Set("stream", q.Stream)
	}
	var out ExecLogResponse
	if err := c.doJSON(ctx, http.MethodGet, apiPath("/vm/%s/logs", vmID), query, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ReadFile reads a file from a VM through the HTTP files API. For large
// files prefer SFTP (DialSSH), which streams.
func (c *Client) ReadFile(ctx context.Context, vmID, path string) ([]byte, error) {
	var out FileContent
	if err := c.doJSON(ctx, http.MethodGet, apiPath("/vm/%s/files", vmID), url.Values{"path": {path}}, nil, &out); err != nil {
		return nil, err
	}
	data, err := base64.StdEncoding.DecodeString(out.ContentB64)
	if err != nil {
		return nil, fmt.Errorf("vers api: GET /vm/%s/files: content_b64 is not base64: %w", vmID, err)
	}
	return data, nil
}

// WriteFileOptions tune WriteFile.
type WriteFileOptions struct {
	Mode       fs.FileMode // permission bits; 0 means the server default (0644)
	CreateDirs bool        // create missing parent directories
}

// WriteFile writes a whole file on a VM through the HTTP files API.
func (c *Client) WriteFile(ctx context.Context, vmID, path string, content []byte, opts WriteFileOptions) error {
	req := PutFileRequest{Path: path, ContentB64: base64.StdEncoding.EncodeToString(content), CreateDirs: opts.CreateDirs}
	if opts.Mode != 0 {
		mode := int64(opts.Mode.Perm())
		req.Mode = &mode
	}
	return c.doJSON(ctx, http.MethodPut, apiPath("/vm/%s/files", vmID), nil, req, nil)
}
