package vers

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const testAPIKey = "vers_sk_test_0123456789abcdef"

// logCapture records every line the client logs, rendered with its fields.
type logCapture struct {
	mu    sync.Mutex
	lines []string
}

func (l *logCapture) log(_ context.Context, msg string, fields map[string]any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf("%s %v", msg, fields))
}

func (l *logCapture) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

func (l *logCapture) contains(sub string) bool {
	for _, line := range l.all() {
		if strings.Contains(line, sub) {
			return true
		}
	}
	return false
}

// sleepRecorder replaces the backoff sleep: it records the requested delays
// and returns at once, so retry tests are fast and assert exact waits.
type sleepRecorder struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (s *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.delays = append(s.delays, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleepRecorder) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.delays...)
}

type testEnv struct {
	client *Client
	server *httptest.Server
	logs   *logCapture
	sleeps *sleepRecorder
}

// newTestEnv starts handler on loopback and a client for it with
// maxRetries retries, captured logs and recorded sleeps. Every request is
// checked for the bearer key and the user agent.
func newTestEnv(t *testing.T, maxRetries int, handler http.HandlerFunc) *testEnv {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); got != "Bearer "+testAPIKey {
			t.Errorf("%s %s: Authorization = %q", r.Method, r.URL.Path, got)
		}
		if got := r.Header.Get("User-Agent"); got != "terraform-provider-vers/test" {
			t.Errorf("%s %s: User-Agent = %q", r.Method, r.URL.Path, got)
		}
		handler(w, r)
	}))
	t.Cleanup(srv.Close)
	env := &testEnv{server: srv, logs: &logCapture{}, sleeps: &sleepRecorder{}}
	c, err := New(Config{
		BaseURL:    srv.URL,
		APIKey:     testAPIKey,
		UserAgent:  "terraform-provider-vers/test",
		MaxRetries: maxRetries,
		Logger:     env.logs.log,
		Sleep:      env.sleeps.sleep,
	})
	if err != nil {
		t.Fatal(err)
	}
	env.client = c
	t.Cleanup(func() {
		for _, line := range env.logs.all() {
			if strings.Contains(line, testAPIKey) {
				t.Errorf("a log line contains the API key: %q", line)
			}
		}
	})
	return env
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// dropConnection closes the client's connection without any response,
// as a crashed proxy would after the server has acted on the request.
func dropConnection(t *testing.T, w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		t.Fatal("response writer cannot hijack")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
}
