package vers

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

func TestRetryOn503HonoursRetryAfterSeconds(t *testing.T) {
	var calls atomic.Int32
	env := newTestEnv(t, 8, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			w.Header().Set("Retry-After", "7")
			writeJSON(w, http.StatusServiceUnavailable, `{"error":"busy","success":false}`)
			return
		}
		writeJSON(w, http.StatusOK, `{"vm_id":"vm-1","state":"running"}`)
	})
	vm, err := env.client.GetVMStatus(context.Background(), "vm-1")
	if err != nil {
		t.Fatal(err)
	}
	if vm.State != VMStateRunning {
		t.Fatalf("state = %q", vm.State)
	}
	if got := calls.Load(); got != 3 {
		t.Fatalf("server saw %d requests, want 3", got)
	}
	delays := env.sleeps.all()
	if len(delays) != 2 || delays[0] != 7*time.Second || delays[1] != 7*time.Second {
		t.Fatalf("slept %v, want [7s 7s] from Retry-After", delays)
	}
	if !env.logs.contains("retrying") {
		t.Fatalf("no retry was logged: %v", env.logs.all())
	}
}

func TestRetryOn429HonoursRetryAfterDate(t *testing.T) {
	var calls atomic.Int32
	env := newTestEnv(t, 8, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", time.Now().Add(90*time.Second).UTC().Format(http.TimeFormat))
			writeJSON(w, http.StatusTooManyRequests, `{"error":"slow down"}`)
			return
		}
		writeJSON(w, http.StatusOK, `[]`)
	})
	if _, err := env.client.ListVMs(context.Background()); err != nil {
		t.Fatal(err)
	}
	delays := env.sleeps.all()
	// HTTP dates have one-second resolution.
	if len(delays) != 1 || delays[0] < 88*time.Second || delays[0] > 90*time.Second {
		t.Fatalf("slept %v, want about 90s from the Retry-After date", delays)
	}
}

func TestRetryGivesUpAfterMaxRetries(t *testing.T) {
	var calls atomic.Int32
	env := newTestEnv(t, 3, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeJSON(w, http.StatusTooManyRequests, `{"error":"rate limited","success":false}`)
	})
	_, err := env.client.ListVMs(context.Background())
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("err = %v, want a 429 APIError", err)
	}
	if apiErr.Message != "rate limited" {
		t.Fatalf("message = %q", apiErr.Message)
	}
	if got := calls.Load(); got != 4 {
		t.Fatalf("server saw %d requests, want 1 + 3 retries", got)
	}
	if got := len(env.sleeps.all()); got != 3 {
		t.Fatalf("slept %d times, want 3", got)
	}
}

func TestZeroMaxRetriesMeansOneAttempt(t *testing.T) {
	var calls atomic.Int32
	env := newTestEnv(t, 0, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeJSON(w, http.StatusBadGateway, `bad gateway`)
	})
	if _, err := env.client.ListVMs(context.Background()); err == nil {
		t.Fatal("want an error")
	}
	if got := calls.Load(); got != 1 {
		t.Fatalf("server saw %d requests, want 1", got)
	}
}

func TestNoRetryOn409(t *testing.T) {
	var calls atomic.Int32
	env := newTestEnv(t, 8, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		// No X-Should-Retry header: the status alone must stop retries.
		writeJSON(w, http.StatusConflict, `{"error":"Tag name already exists in organization","success":false}`)
	})
	_, err := env.client.CreateCommitTag(context.Background(), CreateTagRequest{TagName: "prod", CommitID: "c1"})
	if !IsConflict(err) {
		t.Fatalf("err = %v, want a conflict", err)
	}
	var dup *DuplicateCreateError
	if errors.As(err, &dup) {
		t.Fatalf("a first-attempt 409 must stay a plain conflict, got %v", err)
	}
	if got := calls.Load(); got != 1 {
		t.Fatalf("server saw %d requests, want 1", got)
	}
	if len(env.sleeps.all()) != 0 {
		t.Fatal("slept before a conflict")
	}
}

func TestNoRetryOnClientErrors(t *testing.T) {
	for _, code := range []int{400, 401, 403, 404, 422} {
		var calls atomic.Int32
		env := newTestEnv(t, 8, func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			writeJSON(w, code, `{"error":"no"}`)
		})
		if _, err := env.client.GetVMStatus(context.Background(), "x"); err == nil {
			t.Fatalf("%d: want an error", code)
		}
		if calls.Load() != 1 {
			t.Fatalf("%d: server saw %d requests", code, calls.Load())
		}
	}
}

func TestShouldRetryFalseStopsRetriesOn5xx(t *testing.T) {
	var calls atomic.Int32
	env := newTestEnv(t, 8, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("X-Should-Retry", "false")
		writeJSON(w, http.StatusInternalServerError, `{"error":"permanent"}`)
	})
	if _, err := env.client.ListVMs(context.Background()); err == nil {
		t.Fatal("want an error")
	}
	if calls.Load() != 1 {
		t.Fatalf("server saw %d requests, want 1", calls.Load())
	}
}

func TestRetryOnDroppedConnectionKeepsIdempotencyKey(t *testing.T) {
	var calls atomic.Int32
	keys := make(chan string, 10)
	env := newTestEnv(t, 8, func(w http.ResponseWriter, r *http.Request) {
		keys <- r.Header.Get("X-Idempotency-Key")
		if calls.Add(1) == 1 {
			dropConnection(t, w)
			return
		}
		writeJSON(w, http.StatusOK, `{"vm_id":"vm-new"}`)
	})
	out, err := env.client.CreateVMFromCommit(context.Background(), FromCommitRequest{CommitID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	if out.VMID != "vm-new" {
		t.Fatalf("vm_id = %q", out.VMID)
	}
	close(keys)
	var seen []string
	for k := range keys {
		seen = append(seen, k)
	}
	if len(seen) != 2 || seen[0] == "" || seen[0] != seen[1] {
		t.Fatalf("idempotency keys %q: want the same non-empty key on both attempts", seen)
	}
}

func TestGETCarriesNoIdempotencyKey(t *testing.T) {
	env := newTestEnv(t, 0, func(w http.ResponseWriter, r *http.Request) {
		if k := r.Header.Get("X-Idempotency-Key"); k != "" {
			t.Errorf("GET carried idempotency key %q", k)
		}
		writeJSON(w, http.StatusOK, `[]`)
	})
	if _, err := env.client.ListVMs(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestPerAttemptTimeoutIsRetried(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	env := newTestEnv(t, 2, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			select { // hang until the client gives up on this attempt
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		writeJSON(w, http.StatusOK, `[]`)
	})
	env.client.timeout = 50 * time.Millisecond
	if _, err := env.client.ListVMs(context.Background()); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 {
		t.Fatalf("server saw %d requests, want 2", calls.Load())
	}
}

func TestCancelDuringBackoffReturnsContextError(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	env := newTestEnv(t, 8, func(w http.ResponseWriter, r *http.Request) {
		cancel()
		writeJSON(w, http.StatusServiceUnavailable, `{}`)
	})
	_, err := env.client.ListVMs(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestBackoffIsFullJitterWithinCeiling(t *testing.T) {
	c, err := New(Config{BaseURL: "http://127.0.0.1:1", APIKey: "k", MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for attempt := 0; attempt < 40; attempt++ {
		ceiling := time.Second
		if attempt < 4 {
			ceiling = 100 * time.Millisecond << attempt
		}
		for range 50 {
			if d := c.backoff(attempt); d < 0 || d > ceiling {
				t.Fatalf("attempt %d: backoff %v outside [0, %v]", attempt, d, ceiling)
			}
		}
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 3, 17, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		header, value string
		want          time.Duration
		ok            bool
	}{
		{"Retry-After", "3", 3 * time.Second, true},
		{"Retry-After", "0", 0, true},
		{"Retry-After", "-1", 0, false},
		{"Retry-After", "soon", 0, false},
		{"Retry-After", now.Add(time.Minute).Format(http.TimeFormat), time.Minute, true},
		{"Retry-After", now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"Retry-After", "999999", maxRetryAfter, true},
		{"Retry-After-Ms", "250", 250 * time.Millisecond, true},
	}
	for _, tc := range cases {
		h := http.Header{}
		h.Set(tc.header, tc.value)
		got, ok := retryAfter(h, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: %q = (%v, %v), want (%v, %v)", tc.header, tc.value, got, ok, tc.want, tc.ok)
		}
	}
}
