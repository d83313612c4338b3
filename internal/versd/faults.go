package versd

import (
	"fmt"
	"math/rand"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FaultOptions turns on fault injection, for testing clients against a
// flaky server. It is off unless Rate > 0. With the same Seed and the same
// sequence of requests the same faults are injected.
type FaultOptions struct {
	Seed int64
	// Rate is the fraction of /api/v1 requests that get a fault (0..1).
	Rate float64
	// Kinds to choose from, uniformly; empty means all of FaultKinds.
	Kinds []string
	// RetryAfter is sent with 429 (default 1s).
	RetryAfter time.Duration
	// SlowDelay is how long "slow" delays a response (default 500ms).
	SlowDelay time.Duration
}

// Fault kinds.
const (
	Fault500         = "500"
	Fault502         = "502"
	Fault503         = "503"
	Fault429         = "429"
	FaultResetBefore = "reset-before" // connection closed before the handler runs
	FaultResetAfter  = "reset-after"  // handler runs, then the connection closes unanswered
	FaultSlow        = "slow"
	FaultCutStream   = "cut-stream" // exec/stream output stops mid-way
)

// FaultKinds lists every kind, in the order documented for --fault-kinds.
var FaultKinds = []string{Fault500, Fault502, Fault503, Fault429, FaultResetBefore, FaultResetAfter, FaultSlow, FaultCutStream}

// ParseFaultKinds reads a comma-separated list such as "500,429,reset-after".
func ParseFaultKinds(s string) ([]string, error) {
	var out []string
	for _, k := range strings.Split(s, ",") {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		known := false
		for _, f := range FaultKinds {
			known = known || f == k
		}
		if !known {
			return nil, fmt.Errorf("unknown fault kind %q; known kinds: %s", k, strings.Join(FaultKinds, ","))
		}
		out = append(out, k)
	}
	return out, nil
}

// faultInjector draws faults from one seeded source under a mutex, so the
// sequence depends only on the seed and the order of requests.
type faultInjector struct {
	opts FaultOptions
	mu   sync.Mutex
	rnd  *rand.Rand
}

func newFaultInjector(opts FaultOptions) (*faultInjector, error) {
	if opts.Rate < 0 || opts.Rate > 1 {
		return nil, fmt.Errorf("fault rate %v is outside 0..1", opts.Rate)
	}
	if len(opts.Kinds) == 0 {
		opts.Kinds = FaultKinds
	}
	for _, k := range opts.Kinds {
		if _, err := ParseFaultKinds(k); err != nil {
			return nil, err
		}
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = time.Second
	}
	if opts.SlowDelay <= 0 {
		opts.SlowDelay = 500 * time.Millisecond
	}
	return &faultInjector{opts: opts, rnd: rand.New(rand.NewSource(opts.Seed))}, nil
}

// draw picks the fault for one request, or "".
func (f *faultInjector) draw() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rnd.Float64() >= f.opts.Rate {
		return ""
	}
	return f.opts.Kinds[f.rnd.Intn(len(f.opts.Kinds))]
}

// isStreamRoute reports whether a path is an exec NDJSON stream.
func isStreamRoute(path string) bool {
	return strings.HasSuffix(path, "/exec/stream") || strings.HasSuffix(path, "/exec/stream/attach")
}

// injectFaults is the fault middleware. Only /api/v1 requests are
// affected, never /health, so a harness can always tell the server is up.
func (s *Server) injectFaults(next http.Handler) http.Handler {
	f := s.faults
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			next.ServeHTTP(w, r)
			return
		}
		kind := f.draw()
		if kind == FaultCutStream && !isStreamRoute(r.URL.Path) {
			kind = "" // drawn but meaningless here: the request goes through
		}
		if kind == "" {
			next.ServeHTTP(w, r)
			return
		}
		s.countFault()
		infoFrom(r.Context()).fault = kind
		switch kind {
		case Fault500, Fault502, Fault503:
			code, _ := strconv.Atoi(kind)
			writeError(w, errorf(code, "injected fault: %s %s", kind, http.StatusText(code)))
		case Fault429:
			secs := int((f.opts.RetryAfter + time.Second - 1) / time.Second)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			w.Header().Set("Retry-After-Ms", strconv.FormatInt(f.opts.RetryAfter.Milliseconds(), 10))
			writeError(w, errorf(http.StatusTooManyRequests, "injected fault: rate limited; retry after %s", f.opts.RetryAfter))
		case FaultResetBefore:
			dropConnection(w)
		case FaultResetAfter:
			// The handler acts in full; the client never hears about it.
			next.ServeHTTP(newBufferedResponse(), r)
			dropConnection(w)
		case FaultSlow:
			select {
			case <-time.After(f.opts.SlowDelay):
			case <-r.Context().Done():
				return
			}
			next.ServeHTTP(w, r)
		case FaultCutStream:
			// Read by the stream writer, which aborts after a few lines.
			next.ServeHTTP(w, r)
		}
	})
}

// dropConnection closes the client connection without an answer. Hijacking
// gives a clean TCP close; where that is impossible (HTTP/2) aborting the
// handler resets the stream.
func dropConnection(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		conn.Close()
		return
	}
	panic(http.ErrAbortHandler)
}
