package versd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/vers-sh/terraform-provider-vers/internal/versd/store"
)

// Request bodies are capped; PUT /files carries base64 file content and so
// gets a larger allowance.
const (
	maxBodyBytes     = 8 << 20
	maxFileBodyBytes = 64 << 20
)

// requestInfo is shared, through the request context, between the outer
// middleware and the route handler, which fills in the matched pattern.
type requestInfo struct {
	pattern string
	fault   string // the injected fault kind, if any
}

type ctxKey int

const requestInfoKey ctxKey = 1

func infoFrom(ctx context.Context) *requestInfo {
	if ri, ok := ctx.Value(requestInfoKey).(*requestInfo); ok {
		return ri
	}
	return &requestInfo{}
}

// statusRecorder remembers the status a handler wrote, and passes Flush and
// Hijack through so streaming and fault injection keep working.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := s.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("response writer cannot be hijacked")
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// observe logs one line per request and counts it. It never logs headers, so
// the Authorization header cannot leak. It also turns a panic into a 500.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &requestInfo{}
		r = r.WithContext(context.WithValue(r.Context(), requestInfoKey, info))
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler { //nolint:errorlint // sentinel compared by identity, as net/http does
					s.logf("versd: %s %s aborted (%s)", r.Method, routeName(info, r), time.Since(start).Round(time.Microsecond))
					panic(v)
				}
				s.logf("versd: panic serving %s %s: %v\n%s", r.Method, routeName(info, r), v, debug.Stack())
				if rec.status == 0 {
					writeError(rec, errorf(http.StatusInternalServerError, "internal error; see the versd log"))
				}
			}
			route := routeName(info, r)
			s.countRequest(route)
			s.logf("versd: %s %d %s", route, rec.status, time.Since(start).Round(time.Microsecond))
		}()
		next.ServeHTTP(rec, r)
	})
}

func routeName(info *requestInfo, r *http.Request) string {
	if info.pattern != "" {
		return info.pattern
	}
	return r.Method + " (unmatched)"
}

// authenticate checks the bearer key in constant time on /api/v1 and puts
// the key's organisation into the request context.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			next.ServeHTTP(w, r)
			return
		}
		got := r.Header.Get("Authorization")
		key, hasBearer := strings.CutPrefix(got, "Bearer ")
		o := s.orgForKey(key)
		if !hasBearer || o == nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="versd"`)
			msg := "invalid API key"
			if got == "" {
				msg = "missing API key: send Authorization: Bearer <key> (versd prints its key on start)"
			}
			writeError(w, errorf(http.StatusUnauthorized, "%s", msg))
			return
		}
		next.ServeHTTP(w, r.WithContext(withOrg(r.Context(), o)))
	})
}

// limitBody caps request bodies; decodeJSON turns the overflow into a 413.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := int64(maxBodyBytes)
		if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/files") {
			limit = maxFileBodyBytes
		}
		if r.ContentLength > limit {
			writeError(w, errorf(http.StatusRequestEntityTooLarge, "request body is larger than the %d byte limit", limit))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}

// bufferedResponse captures a whole response so it can be stored for
// idempotent replay (or thrown away by a reset-after fault).
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newBufferedResponse() *bufferedResponse { return &bufferedResponse{header: http.Header{}} }

func (b *bufferedResponse) Header() http.Header { return b.header }
func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}
func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferedResponse) copyTo(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	if b.status == 0 {
		b.status = http.StatusOK
	}
	w.WriteHeader(b.status)
	w.Write(b.body.Bytes())
}

// idempotencyKeys serialises requests that share a key, so two concurrent
// retries cannot both create an object.
type idempotencyKeys struct {
	mu    sync.Mutex
	locks map[string]*sync.Mutex
	refs  map[string]int
}

func (k *idempotencyKeys) lock(key string) func() {
	k.mu.Lock()
	if k.locks == nil {
		k.locks, k.refs = map[string]*sync.Mutex{}, map[string]int{}
	}
	m := k.locks[key]
	if m == nil {
		m = &sync.Mutex{}
		k.locks[key] = m
	}
	k.refs[key]++
	k.mu.Unlock()
	m.Lock()
	return func() {
		m.Unlock()
		k.mu.Lock()
		if k.refs[key]--; k.refs[key] == 0 {
			delete(k.locks, key)
			delete(k.refs, key)
		}
		k.mu.Unlock()
	}
}

// idempotent wraps a creating POST: with X-Idempotency-Key, the first
// response below 500 is stored in SQLite (so it survives a restart) and a
// replay of the same key on the same path with the same body gets it back
// unchanged instead of creating a second object. A lost response is thus
// safe to retry. The same key with a different body is refused with 422, as
// the IETF Idempotency-Key draft says: replaying the first answer would tell
// the second caller that something it did not ask for happened.
func (s *Server) idempotent(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("X-Idempotency-Key")
		if key == "" {
			h(w, r)
			return
		}
		if len(key) > 255 {
			writeError(w, badRequest("X-Idempotency-Key is longer than 255 characters"))
			return
		}
		// Creating POSTs are small (limitBody caps them at maxBodyBytes).
		body, err := io.ReadAll(r.Body)
		if err != nil {
			writeError(w, bodyReadError(err))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		route := r.Method + " " + r.URL.Path
		if o := callerOrg(r.Context()); o.id != "" {
			// Keys are per organisation: the same key sent by two orgs is
			// two requests. The default org keeps the records it had.
			route = o.id + " " + route
		}
		reqHash := requestHash(r.Method, r.URL.Path, body)
		unlock := s.idemKeys.lock(route + "\x00" + key)
		defer unlock()
		stored, ok, err := s.db.GetIdempotent(r.Context(), key, route)
		if err != nil {
			writeError(w, fmt.Errorf("reading the idempotency record: %w", err))
			return
		}
		if ok && stored.RequestHash != "" && stored.RequestHash != reqHash {
			writeError(w, errorf(http.StatusUnprocessableEntity,
				"X-Idempotency-Key %q was already used for a different request to %s; use a new key for a new request",
				truncate(key, 64), r.URL.Path))
			return
		}
		if ok {
			w.Header().Set("Content-Type", stored.ContentType)
			w.Header().Set("Idempotent-Replayed", "true")
			w.WriteHeader(stored.Status)
			w.Write(stored.Body)
			return
		}
		buf := newBufferedResponse()
		h(buf, r.WithContext(withIdempotencyScope(r.Context(), s.idempotencyScope(r.Context(), key, reqHash))))
		if buf.status < 500 {
			rec := store.Idempotent{RequestHash: reqHash, Status: buf.status, ContentType: buf.header.Get("Content-Type"), Body: buf.body.Bytes()}
			if err := s.db.PutIdempotent(context.WithoutCancel(r.Context()), key, route, rec, store.Now()); err != nil {
				s.logf("versd: storing the idempotency record failed: %v", err)
			}
		}
		buf.copyTo(w)
	}
}
