package versd

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// A FIFO (or other special file) in the VM gets 400 at once from GET and
// PUT /files, and never delays a DELETE or a commit of the VM: before, a
// FIFO without a writer hung the read while it held the VM's lock.
func TestFilesAPIRefusesSpecialFilesAtOnce(t *testing.T) {
	s := startTest(t, "")
	c := newClient(t, s)
	vm := c.newRoot()
	c.execOK(vm, "mkfifo /root/app.conf")
	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/vm/" + vm + "/files?path=/root/app.conf", nil},
		{"PUT", "/api/v1/vm/" + vm + "/files", map[string]any{"path": "/root/app.conf", "content_b64": "aGk="}},
		{"GET", "/api/v1/vm/" + vm + "/files?path=/dev/null", nil},
		{"PUT", "/api/v1/vm/" + vm + "/files", map[string]any{"path": "/dev/null", "content_b64": "aGk="}},
	} {
		start := time.Now()
		r := c.do(tc.method, tc.path, tc.body)
		if r.status != http.StatusBadRequest || !strings.Contains(r.errorMessage(t), "not a regular file") {
			t.Fatalf("%s %s: status %d %s, want 400 not a regular file", tc.method, tc.path, r.status, r.body)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("%s %s took %v", tc.method, tc.path, d)
		}
	}
	// A reader that hung would hold the VM lock; commit and delete must
	// not wait on it.
	done := make(chan response, 1)
	go func() { done <- c.do("GET", "/api/v1/vm/"+vm+"/files?path=/root/app.conf", nil) }()
	start := time.Now()
	c.commit(vm, nil)
	c.must(200, "DELETE", "/api/v1/vm/"+vm, nil, nil)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("commit and delete next to a FIFO read took %v", d)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the FIFO read never answered")
	}
}
