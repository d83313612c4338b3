package vers

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// APIError is a non-2xx answer from the Vers API. Message is the server's
// own text ("error", else "message", else the plain body), with the API key
// redacted in case a server ever echoes it.
type APIError struct {
	StatusCode int
	Message    string
	Method     string
	Path       string

	// afterLostResponse is set when an earlier attempt of the same request
	// may have reached the server (its response was lost or it failed with
	// a 5xx). A 409 on such a retry may be our own earlier success.
	afterLostResponse bool
}

func (e *APIError) Error() string {
	status := fmt.Sprintf("%d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message == "" {
		return fmt.Sprintf("vers api: %s %s: %s", e.Method, e.Path, status)
	}
	return fmt.Sprintf("vers api: %s %s: %s: %s", e.Method, e.Path, status, e.Message)
}

// IsNotFound reports whether err is (or wraps) a 404 from the API.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsConflict reports whether err is (or wraps) a 409 from the API.
func IsConflict(err error) bool { return hasStatus(err, http.StatusConflict) }

func hasStatus(err error, code int) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode == code
}

// ErrStreamCut means an exec stream ended (EOF or a broken connection)
// before its exit line. The command may still be running: re-attach with
// AttachExecStream using the stream's ExecID and Cursor.
var ErrStreamCut = errors.New("vers api: exec stream ended without an exit line")

// ExecStreamError is an "error" line of an exec stream: the server gave up
// on the command (it did not exit with a code).
type ExecStreamError struct {
	Code    string
	Message string
}

func (e *ExecStreamError) Error() string {
	if e.Code == "" {
		return "vers exec stream error: " + e.Message
	}
	return fmt.Sprintf("vers exec stream error (%s): %s", e.Code, e.Message)
}

// maxErrorMessage bounds how much of a plain-text error body ends up in an
// error string (an HTML error page from a proxy can be large).
const maxErrorMessage = 2048

// errorMessageFromBody extracts the server's explanation from an error
// body: {"error": …} first, then {"message": …}, else the trimmed text.
func errorMessageFromBody(body []byte) string {
	text := strings.TrimSpace(string(body))
	if text == "" {
		return ""
	}
	var parsed struct {
		Error   any    `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &parsed) == nil {
		switch v := parsed.Error.(type) {
		case string:
			if v != "" {
				return v
			}
		case nil:
		default:
			// Some servers nest the error ({"error": {"message": …}}).
			if b, err := json.Marshal(v); err == nil {
				return truncate(string(b))
			}
		}
		if parsed.Message != "" {
			return parsed.Message
		}
	}
	return truncate(text)
}

func truncate(s string) string {
	if len(s) <= maxErrorMessage {
		return s
	}
	return s[:maxErrorMessage] + "…"
}

// DuplicateCreateError says a named create was retried after a lost
// response and the retry found the name taken by an object that does not
// match the request, so we cannot tell whether the earlier attempt created
// something. The caller should inspect the object and import or rename.
type DuplicateCreateError struct {
	Kind   string // "repository", "repository tag", "commit tag"
	Name   string
	Detail string
	Err    error // the 409 (or the failed lookup)
}

func (e *DuplicateCreateError) Error() string {
	msg := fmt.Sprintf("creating %s %q: an earlier attempt may have created it (its response was lost), "+
		"but the retry got a conflict and the existing %s does not match the request", e.Kind, e.Name, e.Kind)
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return msg + "; inspect it, then import it or delete it and apply again: " + e.Err.Error()
}

func (e *DuplicateCreateError) Unwrap() error { return e.Err }
