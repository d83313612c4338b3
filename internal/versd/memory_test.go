package versd

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// Exec output of all VMs together stays within the budget, the oldest goes
// first, and a re-attach that asks for discarded output gets 410 with a
// message that says why, not a silent gap. Bad cursors get 400.
func TestExecOutputStaysWithinTheGlobalBudget(t *testing.T) {
	const budget = 2 << 20
	s := startTest(t, "", func(o *Options) { o.ExecOutputBudget = budget })
	c := newClient(t, s)
	vms := []string{c.newRoot(), c.newRoot()}
	var first string
	for i := range 24 {
		var out struct {
			ExecID   string `json:"exec_id"`
			ExitCode int    `json:"exit_code"`
		}
		c.must(200, "POST", "/api/v1/vm/"+vms[i%2]+"/exec", map[string]any{"command": []string{"head", "-c", "400000", "/dev/zero"}}, &out)
		if out.ExitCode != 0 {
			t.Fatalf("exec %d exited %d", i, out.ExitCode)
		}
		if i == 0 {
			first = out.ExecID
		}
		if got := s.execs.retained(); got > budget {
			t.Fatalf("after exec %d versd retains %d bytes of output, budget %d", i, got, budget)
		}
	}
	// 24 × 400 kB (~13 MB in base64, twice: attach buffers and logs) went
	// through a 2 MiB budget.
	attach := "/api/v1/vm/" + vms[0] + "/exec/stream/attach"
	r := c.do("POST", attach, map[string]any{"exec_id": first, "cursor": 0})
	if r.status != http.StatusGone || !strings.Contains(r.errorMessage(t), "memory budget") {
		t.Fatalf("attach to discarded output: status %d %s, want 410", r.status, r.body)
	}
	for _, cursor := range []int64{-1, 1 << 40} {
		r := c.do("POST", attach, map[string]any{"exec_id": first, "cursor": cursor})
		if r.status != http.StatusBadRequest || !strings.Contains(r.errorMessage(t), "cursor") {
			t.Fatalf("cursor %d: status %d %s, want 400", cursor, r.status, r.body)
		}
	}
	// from_latest still ends with the exit line.
	r = c.must(200, "POST", attach, map[string]any{"exec_id": first, "from_latest": true}, nil)
	if !strings.Contains(string(r.body), `"exit_code":0`) {
		t.Fatalf("from_latest re-attach: %s", r.body)
	}
	c.must(200, "GET", "/health", nil, nil)
	// Deleting the VMs gives their bytes back.
	for _, vm := range vms {
		c.must(200, "DELETE", "/api/v1/vm/"+vm, nil, nil)
	}
	if got := s.execs.retained(); got != 0 {
		t.Fatalf("after deleting every VM versd still counts %d bytes of exec output", got)
	}
	_ = fmt.Sprint()
}
