package versd

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// outcomes sends n GETs and records what each saw: a status or "reset".
func outcomes(t *testing.T, s *Server, n int) []string {
	t.Helper()
	var out []string
	for i := 0; i < n; i++ {
		req, _ := http.NewRequest("GET", s.URL+"/api/v1/repositories", nil)
		req.Header.Set("Authorization", "Bearer "+s.APIKey)
		// A fresh transport per request: a reset must not poison the next one.
		resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
		if err != nil {
			out = append(out, "reset")
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		code := fmt.Sprint(resp.StatusCode)
		if resp.StatusCode == 429 {
			code += " retry-after=" + resp.Header.Get("Retry-After")
		}
		out = append(out, code)
	}
	return out
}

func TestFaultInjectionIsDeterministic(t *testing.T) {
	faults := FaultOptions{Seed: 42, Rate: 0.5, Kinds: []string{"500", "503", "429", "reset-before", "reset-after", "slow"},
		RetryAfter: 2 * time.Second, SlowDelay: time.Millisecond}
	a := startTest(t, "", func(o *Options) { o.Faults = faults })
	b := startTest(t, "", func(o *Options) { o.Faults = faults })
	first, second := outcomes(t, a, 40), outcomes(t, b, 40)
	if strings.Join(first, ",") != strings.Join(second, ",") {
		t.Fatalf("same seed, different faults:\n%v\n%v", first, second)
	}
	kinds := map[string]int{}
	for _, o := range first {
		kinds[o]++
	}
	if kinds["200"] == 0 || kinds["500"] == 0 || kinds["reset"] == 0 || kinds["429 retry-after=2"] == 0 {
		t.Fatalf("expected successes, 500s, resets and 429s with Retry-After: %v", kinds)
	}
	failed := len(first) - kinds["200"]
	if got := a.Stats().FaultsInjected; got < failed {
		t.Fatalf("FaultsInjected = %d, but %d requests failed", got, failed)
	}
	c := startTest(t, "", func(o *Options) { o.Faults = faults; o.Faults.Seed = 7 })
	if strings.Join(outcomes(t, c, 40), ",") == strings.Join(first, ",") {
		t.Fatal("a different seed gave the same fault sequence")
	}
}

// TestResetAfterActsAndReplays: with reset-after the server creates the
// repository but the client hears nothing; a retry with the same
// idempotency key gets the original answer, not a 409 or a duplicate.
func TestResetAfterActsAndReplays(t *testing.T) {
	s := startTest(t, "", func(o *Options) {
		o.Faults = FaultOptions{Seed: 1, Rate: 1, Kinds: []string{FaultResetAfter}}
	})
	post := func() (*http.Response, error) {
		req, _ := http.NewRequest("POST", s.URL+"/api/v1/repositories", strings.NewReader(`{"name":"app"}`))
		req.Header.Set("Authorization", "Bearer "+s.APIKey)
		req.Header.Set("X-Idempotency-Key", "once")
		return (&http.Client{Transport: &http.Transport{}}).Do(req)
	}
	if resp, err := post(); err == nil {
		resp.Body.Close()
		t.Fatalf("reset-after answered %d", resp.StatusCode)
	}
	repo, err := s.db.GetRepo(t.Context(), "", "app")
	if err != nil {
		t.Fatalf("the handler did not act before the reset: %v", err)
	}
	// Turn faults off for the retry.
	s.faults.mu.Lock()
	s.faults.opts.Rate = 0
	s.faults.mu.Unlock()
	resp, err := post()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 || !strings.Contains(string(body), repo.ID) {
		t.Fatalf("retry got %d %s", resp.StatusCode, body)
	}
}

func TestCutStream(t *testing.T) {
	s := startTest(t, "", func(o *Options) {
		o.Faults = FaultOptions{Seed: 3, Rate: 1, Kinds: []string{FaultCutStream}}
	})
	c := newClient(t, s) // non-stream requests pass: cut-stream only affects streams
	vm := c.newRoot()
	req, _ := http.NewRequest("POST", s.URL+"/api/v1/vm/"+vm+"/exec/stream",
		strings.NewReader(`{"command":["sh","-c","echo one; sleep 0.2; echo two"],"exec_id":"cut-1"}`))
	req.Header.Set("Authorization", "Bearer "+s.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, readErr := io.ReadAll(resp.Body)
	resp.Body.Close()
	if readErr == nil {
		t.Fatalf("stream was not cut: %s", data)
	}
	if strings.Contains(string(data), `"type":"exit"`) {
		t.Fatalf("cut stream still delivered the exit line: %s", data)
	}
	if s.Stats().FaultsInjected == 0 {
		t.Fatal("the cut was not counted")
	}
	// The command itself ran to completion; its record has the exit line.
	rec := s.execs.get(vm, "cut-1")
	if rec == nil || !rec.waitDone(t.Context()) {
		t.Fatal("exec record missing or unfinished")
	}
	lines, _, _ := rec.after(0)
	if last := lines[len(lines)-1]; last.Type != vers.StreamLineExit {
		t.Fatalf("last recorded line = %+v", last)
	}
}
