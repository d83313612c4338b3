package versd

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzJSONHandlers throws arbitrary bodies at the JSON handlers that create
// and update repositories and tags. Whatever arrives, the answer is a
// documented status with a JSON body, never a 500 or a panic.
func FuzzJSONHandlers(f *testing.F) {
	// f.Logf may not be called from inside the fuzz function: log to a buffer.
	var panics logBuffer
	s := startTest(f, "", func(o *Options) {
		o.Logf = func(format string, args ...any) {
			if strings.Contains(format, "panic") {
				panics.logf(format, args...)
			}
		}
	})
	c := newClient(f, s)
	vm := c.newRoot()
	commitID := c.commit(vm, nil)
	c.must(201, "POST", "/api/v1/repositories", map[string]any{"name": "base"}, nil)
	handler := s.http.Handler
	paths := []string{
		"POST /api/v1/repositories",
		"POST /api/v1/repositories/base/tags",
		"POST /api/v1/commit_tags",
		"PATCH /api/v1/repositories/base/tags/t",
		"PATCH /api/v1/commits/" + commitID,
		"PATCH /api/v1/repositories/base/visibility",
		"POST /api/v1/vm/from_commit",
		"POST /api/v1/repositories/fork",
	}
	for i := range paths {
		f.Add(uint8(i), `{"name":"x"}`)
		f.Add(uint8(i), `{"tag_name":"t","commit_id":"`+commitID+`","description":null}`)
		f.Add(uint8(i), `{"is_public":true,"name":5}`)
		f.Add(uint8(i), "{\"name\":\"\xff\"}")
		f.Add(uint8(i), `{"ref":"base:t","commit_id":[]}`)
	}
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		method, path, _ := strings.Cut(paths[int(which)%len(paths)], " ")
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testKey)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if p := panics.String(); p != "" {
			t.Fatalf("a handler panicked:\n%s", p)
		}
		switch rec.Code {
		case http.StatusOK, http.StatusCreated, http.StatusNoContent:
			return
		case http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("%s %s %q: status %d %s", method, path, body, rec.Code, rec.Body)
		}
		var e struct {
			Error   string `json:"error"`
			Success *bool  `json:"success"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" || e.Success == nil || *e.Success {
			t.Fatalf("%s %s %q: error body %q", method, path, body, rec.Body)
		}
	})
}
