package vers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// call describes one logical API request; send may make several attempts.
type call struct {
	method string
	path   string // escaped, relative to /api/v1 (see apiPath)
	query  url.Values
	body   any  // JSON-encoded once; nil sends no body
	stream bool // keep the 2xx body open (exec streams)
}

// response is a successful (2xx) answer. For a stream call, body is nil
// and stream must be closed (which also releases the attempt's context).
type response struct {
	status int
	body   []byte
	stream io.ReadCloser
}

// maxResponseBody bounds a JSON response held in memory (a commit list of
// an org with many thousands of commits still fits comfortably).
const maxResponseBody = 64 << 20

// maxRetryAfter caps how long a server's Retry-After can park us.
const maxRetryAfter = 10 * time.Minute

var errAttemptTimeout = errors.New("attempt timed out")

// doJSON sends a call and decodes a 2xx body into out (if out is non-nil
// and the body is not empty).
func (c *Client) doJSON(ctx context.Context, method, path string, query url.Values, in, out any) error {
	resp, err := c.send(ctx, call{method: method, path: path, query: query, body: in})
	if err != nil {
		return err
	}
	if out == nil || len(bytes.TrimSpace(resp.body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(resp.body, out); err != nil {
		return fmt.Errorf("vers api: %s %s: decoding the %d response: %w", method, path, resp.status, err)
	}
	return nil
}

// send runs a call with retries. Mutating requests carry one
// X-Idempotency-Key for all their attempts, so a server that honours it
// (versd does) applies a retried create once.
func (c *Client) send(ctx context.Context, cl call) (*response, error) {
	var payload []byte
	if cl.body != nil {
		var err error
		if payload, err = json.Marshal(cl.body); err != nil {
			return nil, fmt.Errorf("vers api: %s %s: encoding request: %w", cl.method, cl.path, err)
		}
	}
	var idempotencyKey string
	if cl.method != http.MethodGet && cl.method != http.MethodHead {
		idempotencyKey = uuid.NewString()
	}
	// maybeApplied records that an earlier attempt may have taken effect
	// on the server even though we saw no success.
	maybeApplied := false
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("vers api: %s %s: %w", cl.method, cl.path, err)
		}
		started := time.Now()
		resp, wrote, replayed, err := c.attempt(ctx, cl, payload, idempotencyKey)
		maybeApplied = maybeApplied || replayed
		fields := map[string]any{"method": cl.method, "path": cl.path, "attempt": attempt + 1,
			"duration_ms": time.Since(started).Milliseconds()}
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("vers api: %s %s: %w", cl.method, cl.path, ctx.Err())
			}
			maybeApplied = maybeApplied || wrote
			fields["error"] = c.redact(err.Error())
			if attempt >= c.maxRetries {
				c.debug(ctx, "request failed", fields)
				return nil, fmt.Errorf("vers api: %s %s: giving up after %d attempt(s): %w", cl.method, cl.path, attempt+1, err)
			}
			delay := c.backoff(attempt)
			fields["retry_in_ms"] = delay.Milliseconds()
			c.debug(ctx, "request failed, retrying", fields)
			if err := c.sleep(ctx, delay); err != nil {
				return nil, fmt.Errorf("vers api: %s %s: %w", cl.method, cl.path, err)
			}
			continue
		}
		fields["status"] = resp.StatusCode
		if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
			c.debug(ctx, "request", fields)
			if cl.stream {
				return &response{status: resp.StatusCode, stream: resp.Body}, nil
			}
			body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
			resp.Body.Close()
			if err != nil {
				// The server answered but the body was cut: for a GET
				// just try again; for anything else it may have applied.
				maybeApplied = maybeApplied || cl.method != http.MethodGet
				if attempt < c.maxRetries && ctx.Err() == nil {
					if err := c.sleep(ctx, c.backoff(attempt)); err == nil {
						continue
					}
				}
				return nil, fmt.Errorf("vers api: %s %s: reading the %d response: %w", cl.method, cl.path, resp.StatusCode, err)
			}
			return &response{status: resp.StatusCode, body: body}, nil
		}

		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		apiErr := &APIError{StatusCode: resp.StatusCode, Message: c.redact(errorMessageFromBody(raw)),
			Method: cl.method, Path: cl.path, afterLostResponse: maybeApplied}
		if resp.StatusCode >= 500 {
			maybeApplied = true
		}
		retry := retryableStatus(resp.StatusCode) && resp.Header.Get("X-Should-Retry") != "false"
		if !retry || attempt >= c.maxRetries {
			c.debug(ctx, "request", fields)
			return nil, apiErr
		}
		delay, fromServer := retryAfter(resp.Header, time.Now())
		if !fromServer {
			delay = c.backoff(attempt)
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < delay {
			// Waiting would outlive the caller: report the server's answer now.
			c.debug(ctx, "request", fields)
			return nil, apiErr
		}
		fields["retry_in_ms"] = delay.Milliseconds()
		c.debug(ctx, "request, retrying", fields)
		if err := c.sleep(ctx, delay); err != nil {
			return nil, fmt.Errorf("vers api: %s %s: %w", cl.method, cl.path, err)
		}
	}
}

// attempt makes one HTTP request. wrote reports whether the request was
// fully written before a failure (so the server may have acted on it).
// On success the response body stays open; for a stream its context is
// released when the body is closed.
//
// net/http itself replays a request that carries X-Idempotency-Key when a
// reused connection fails; writes counts every write so that such a replay
// is still known to follow a possibly-applied attempt (replayed).
func (c *Client) attempt(ctx context.Context, cl call, payload []byte, idempotencyKey string) (resp *http.Response, wrote, replayed bool, err error) {
	attemptCtx, cancel := context.WithCancelCause(ctx)
	var timer *time.Timer
	if c.timeout > 0 {
		timer = time.AfterFunc(c.timeout, func() { cancel(errAttemptTimeout) })
	}
	var writes atomic.Int32
	attemptCtx = httptrace.WithClientTrace(attemptCtx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				writes.Add(1)
			}
		},
	})
	release := func() {
		if timer != nil {
			timer.Stop()
		}
		cancel(nil)
	}

	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(attemptCtx, cl.method, c.endpoint(cl.path, cl.query), body)
	if err != nil {
		release()
		return nil, false, false, err
	}
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	req.Header.Set("User-Agent", c.userAgent)
	if cl.stream {
		req.Header.Set("Accept", "application/x-ndjson, application/json")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idempotencyKey != "" {
		req.Header.Set("X-Idempotency-Key", idempotencyKey)
	}

	resp, err = c.http.Do(req)
	if err != nil {
		if cause := context.Cause(attemptCtx); errors.Is(cause, errAttemptTimeout) {
			err = fmt.Errorf("%w after %s", errAttemptTimeout, c.timeout)
		}
		release()
		return nil, writes.Load() > 0, writes.Load() > 1, err
	}
	if cl.stream && resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		// The per-attempt timeout covers only the wait for headers: a long
		// command may stream for hours. The caller's ctx still applies.
		if timer != nil && !timer.Stop() {
			resp.Body.Close()
			cancel(nil)
			return nil, true, writes.Load() > 1, fmt.Errorf("%w after %s", errAttemptTimeout, c.timeout)
		}
		resp.Body = &releasingBody{ReadCloser: resp.Body, release: func() { cancel(nil) }}
		return resp, true, writes.Load() > 1, nil
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: release}
	return resp, true, writes.Load() > 1, nil
}

// releasingBody releases the attempt's context and timer when closed.
type releasingBody struct {
	io.ReadCloser
	release func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}

func retryableStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500
}

// backoff is "full jitter": a uniform wait in [0, min(max, min·2^attempt)].
func (c *Client) backoff(attempt int) time.Duration {
	ceiling := c.maxBackoff
	if attempt < 30 {
		if d := c.minBackoff << attempt; d > 0 && d < ceiling {
			ceiling = d
		}
	}
	return time.Duration(rand.Int64N(int64(ceiling) + 1))
}

// retryAfter reads Retry-After-Ms, then Retry-After (delta seconds or an
// HTTP date). ok is false when the server gave no usable hint.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 {
			return capRetryAfter(time.Duration(ms * float64(time.Millisecond))), true
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true
		}
		return time.Duration(secs) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		d := at.Sub(now)
		if d < 0 {
			d = 0
		}
		return capRetryAfter(d), true
	}
	return 0, false
}

func capRetryAfter(d time.Duration) time.Duration {
	if d > maxRetryAfter {
		return maxRetryAfter
	}
	return d
}
