package versd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

const testKey = "test-key-0123456789"

// startTest starts a versd on loopback in dir (a fresh temp dir when "").
func startTest(t testing.TB, dir string, mutate ...func(*Options)) *Server {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	opts := Options{DataDir: dir, APIKey: testKey, Logf: t.Logf}
	for _, m := range mutate {
		m(&opts)
	}
	s, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// client is a tiny HTTP helper bound to one server.
type client struct {
	t    testing.TB
	base string
	key  string
	hdr  map[string]string
}

func newClient(t testing.TB, s *Server) *client {
	return &client{t: t, base: s.URL, key: s.APIKey}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

// errorMessage returns the "error" field and checks success is false.
func (r response) errorMessage(t testing.TB) string {
	t.Helper()
	var e struct {
		Error   *string `json:"error"`
		Success *bool   `json:"success"`
	}
	r.json(t, &e)
	if e.Error == nil || e.Success == nil || *e.Success {
		t.Fatalf("error body %s lacks error/success:false", r.body)
	}
	return *e.Error
}

// do sends a request; body may be a string (sent raw), nil, or a value
// (sent as JSON).
func (c *client) do(method, path string, body any) response {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range c.hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// must sends a request and fails the test unless the status matches.
func (c *client) must(status int, method, path string, body any, out any) response {
	c.t.Helper()
	r := c.do(method, path, body)
	if r.status != status {
		c.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, r.status, status, r.body)
	}
	if out != nil {
		r.json(c.t, out)
	}
	return r
}

func (c *client) newRoot() string {
	c.t.Helper()
	var out struct {
		VMID string `json:"vm_id"`
	}
	c.must(201, "POST", "/api/v1/vm/new_root", map[string]any{"vm_config": map[string]any{}}, &out)
	return out.VMID
}

func (c *client) execOK(vm, script string) string {
	c.t.Helper()
	var out struct {
		ExitCode int    `json:"exit_code"`
		Stdout   string `json:"stdout"`
		Stderr   string `json:"stderr"`
	}
	c.must(200, "POST", "/api/v1/vm/"+vm+"/exec", map[string]any{"command": []string{"sh", "-c", script}}, &out)
	if out.ExitCode != 0 {
		c.t.Fatalf("exec %q exited %d: %s", script, out.ExitCode, out.Stderr)
	}
	return out.Stdout
}

func (c *client) commit(vm string, body any) string {
	c.t.Helper()
	var out struct {
		CommitID string `json:"commit_id"`
	}
	c.must(201, "POST", "/api/v1/vm/"+vm+"/commit", body, &out)
	return out.CommitID
}

// logBuffer collects log lines to check what was (not) logged.
type logBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (l *logBuffer) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}
