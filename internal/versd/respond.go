package versd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/vers-sh/terraform-provider-vers/internal/ref"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// apiError is an error with the HTTP status it should be answered with.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) error {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) error {
	return errorf(http.StatusBadRequest, format, args...)
}
func notFound(format string, args ...any) error { return errorf(http.StatusNotFound, format, args...) }
func conflict(format string, args ...any) error { return errorf(http.StatusConflict, format, args...) }

// writeJSON answers with a JSON body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encoding the response failed","success":false}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// writeNoContent answers the "no body" endpoints with 204, which both SDKs
// accept (vers-api.md §7.1).
func writeNoContent(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }

// writeError answers with the documented {"error","success":false} body.
// 409 carries x-should-retry: false so Stainless clients do not repeat a
// request that can only conflict again.
func writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{status: http.StatusInternalServerError, msg: "internal error: " + err.Error()}
	}
	if ae.status == http.StatusConflict {
		w.Header().Set("x-should-retry", "false")
	}
	writeJSON(w, ae.status, vers.ErrorResponse{Error: ae.msg, Success: false})
}

// bodyReadError maps a failed body read: over the limit is 413.
func bodyReadError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return errorf(http.StatusRequestEntityTooLarge, "request body is larger than the %d byte limit", tooBig.Limit)
	}
	return badRequest("reading the request body failed: %v", err)
}

// decodeJSON reads a JSON body into dst. Unknown fields are accepted for
// forward compatibility (newer SDKs send more); wrong types, trailing data
// and oversized bodies are not. An empty body is allowed only when
// optional is true.
func decodeJSON(r *http.Request, dst any, optional bool) error {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return bodyReadError(err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		if optional {
			return nil
		}
		return badRequest("request body is empty; send a JSON object")
	}
	if !utf8.Valid(data) {
		return badRequest("request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(dst); err != nil {
		return badRequest("malformed JSON body: %s", describeJSONError(err))
	}
	if dec.More() {
		return badRequest("malformed JSON body: unexpected data after the JSON object")
	}
	return nil
}

func describeJSONError(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return fmt.Sprintf("expected a JSON %s, got %s", goTypeName(typeErr.Type.Kind().String()), typeErr.Value)
		}
		return fmt.Sprintf("field %q must be a %s, got %s", field, goTypeName(typeErr.Type.Kind().String()), typeErr.Value)
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("%v (at byte %d)", syntaxErr, syntaxErr.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends too early"
	}
	return err.Error()
}

func goTypeName(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"), strings.HasPrefix(kind, "float"):
		return "number"
	case kind == "struct" || kind == "map":
		return "object"
	case kind == "slice":
		return "array"
	case kind == "bool":
		return "boolean"
	}
	return kind
}

// checkName validates a repository or tag name as a 400.
func checkName(kind, s string) error {
	if err := ref.CheckName(kind, s); err != nil {
		return badRequest("%v", err)
	}
	return nil
}

// checkID validates a UUID path or body value as a 400 ... except that
// unknown-but-well-formed ids are 404s, decided by the caller.
func checkID(kind, s string) error {
	if !ref.IsCommitID(s) {
		return badRequest("%s %q is not a UUID", kind, truncate(s, 80))
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
