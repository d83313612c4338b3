package vers

import (
	"context"
	"errors"
	"net/http"
)

// Named creates (repository, repository tag, commit tag) are not
// idempotent on a server that ignores X-Idempotency-Key: if an attempt
// reaches the server but its response is lost, the retry answers 409. The
// helpers below tell "our own earlier attempt created it" (the existing
// object matches what we asked for: success, logged) from a real conflict
// that we cannot attribute (a DuplicateCreateError that says so).
//
// A matching object could in theory have been created by someone else with
// identical content in the same moment; the caller gets the object it asked
// for either way, which is what Terraform needs.

// lostResponseConflict reports whether err is a 409 on a retry whose earlier
// attempt may have reached the server.
func lostResponseConflict(err error) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusConflict && apiErr.afterLostResponse
}

func (c *Client) noteRecognisedCreate(ctx context.Context, kind, name string) {
	c.warn(ctx, "create retried after a lost response; the existing object matches the request, treating it as created", map[string]any{
		"kind": kind, "name": name,
	})
}

// sameDescription compares a requested description ("" = none) with a
// stored one (nil or "" = none).
func sameDescription(stored *string, requested string) bool {
	if stored == nil {
		return requested == ""
	}
	return *stored == requested
}

func describeMismatch(field, want, got string) string {
	return field + " is " + quoteOrNone(got) + ", requested " + quoteOrNone(want)
}

func quoteOrNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return `"` + s + `"`
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
