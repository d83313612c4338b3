package versd

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
)

// The body of PUT /files is a JSON object whose content_b64 can be 64 MiB.
// Decoding it with encoding/json holds the body, the string and the decoded
// bytes in memory at once (eight concurrent uploads reached 2.2 GB). The
// reader below walks the object itself and streams content_b64 through a
// base64 decoder into a spool file, so an upload costs a few buffers of
// memory whatever its size. The other fields are small and are decoded with
// encoding/json from their raw bytes.

// maxSmallJSONValue bounds every field of the object other than content_b64.
const maxSmallJSONValue = 64 << 10

type fileUpload struct {
	Path       string
	Mode       *int64
	CreateDirs bool
	Content    *os.File // spooled, decoded content, positioned at 0
	Size       int64
}

// readFileUpload parses the body into u, spooling the content into a new
// unlinked file under spoolDir. The caller closes u.Content.
func readFileUpload(body io.Reader, spoolDir string) (u fileUpload, err error) {
	spool, err := os.CreateTemp(spoolDir, "upload-")
	if err != nil {
		return u, err
	}
	os.Remove(spool.Name()) // unlinked: a crash leaves nothing behind
	defer func() {
		if err != nil {
			spool.Close()
			u.Content = nil
		}
	}()
	r := bufio.NewReaderSize(body, 64<<10)
	if err := expectByte(r, '{'); err != nil {
		return u, err
	}
	seenContent, seenPath := false, false
	for first := true; ; first = false {
		c, err := nextNonSpace(r)
		if err != nil {
			return u, err
		}
		if c == '}' {
			break
		}
		if !first {
			if c != ',' {
				return u, badRequest("malformed JSON: expected , or } in the object")
			}
			if c, err = nextNonSpace(r); err != nil {
				return u, err
			}
		}
		if c != '"' {
			return u, badRequest("malformed JSON: expected a field name")
		}
		keyRaw, err := readRawString(r)
		if err != nil {
			return u, err
		}
		var key string
		if err := json.Unmarshal(keyRaw, &key); err != nil {
			return u, badRequest("malformed JSON field name")
		}
		if err := expectByte(r, ':'); err != nil {
			return u, err
		}
		if key == "content_b64" {
			if seenContent {
				return u, badRequest("content_b64 appears twice")
			}
			seenContent = true
			if err := expectByte(r, '"'); err != nil {
				return u, badRequest(`"content_b64" must be a string`)
			}
			n, err := io.Copy(spool, base64.NewDecoder(base64.StdEncoding, &jsonStringBody{r: r}))
			if err != nil {
				var ae *apiError
				if errors.As(err, &ae) {
					return u, err
				}
				var cie base64.CorruptInputError
				if errors.As(err, &cie) || errors.Is(err, io.ErrUnexpectedEOF) {
					return u, badRequest("content_b64 is not valid standard base64: %v", err)
				}
				return u, bodyReadError(err)
			}
			u.Size = n
			continue
		}
		raw, err := readRawValue(r)
		if err != nil {
			return u, err
		}
		var target any
		switch key {
		case "path":
			seenPath = true
			target = &u.Path
		case "mode":
			target = &u.Mode
		case "create_dirs":
			target = &u.CreateDirs
		default:
			continue // unknown fields are accepted for newer clients
		}
		if err := json.Unmarshal(raw, target); err != nil {
			return u, badRequest("%q has the wrong type: %v", key, err)
		}
	}
	if c, err := nextNonSpace(r); err == nil {
		return u, badRequest("malformed JSON: unexpected data %q after the object", c)
	} else if !errors.Is(err, io.EOF) {
		return u, bodyReadError(err)
	}
	if !seenPath {
		u.Path = ""
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return u, err
	}
	u.Content = spool
	return u, nil
}

func nextNonSpace(r *bufio.Reader) (byte, error) {
	for {
		c, err := r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0, err
			}
			return 0, bodyReadError(err)
		}
		if !strings.ContainsRune(" \t\r\n", rune(c)) {
			return c, nil
		}
	}
}

func expectByte(r *bufio.Reader, want byte) error {
	c, err := nextNonSpace(r)
	if errors.Is(err, io.EOF) {
		return badRequest("request body is empty or cut short; send a JSON object")
	}
	if err != nil {
		return err
	}
	if c != want {
		return badRequest("malformed JSON: expected %q, found %q", want, c)
	}
	return nil
}

// readRawString reads the rest of a JSON string whose opening quote was
// consumed and returns it with both quotes, at most maxSmallJSONValue long.
func readRawString(r *bufio.Reader) ([]byte, error) {
	out := []byte{'"'}
	escaped := false
	for {
		c, err := r.ReadByte()
		if err != nil {
			return nil, badRequest("malformed JSON: unterminated string")
		}
		out = append(out, c)
		if len(out) > maxSmallJSONValue {
			return nil, badRequest("a JSON value other than content_b64 is longer than %d bytes", maxSmallJSONValue)
		}
		switch {
		case escaped:
			escaped = false
		case c == '\\':
			escaped = true
		case c == '"':
			return out, nil
		}
	}
}

// readRawValue reads one small JSON value (of any type) and returns its
// bytes for encoding/json.
func readRawValue(r *bufio.Reader) ([]byte, error) {
	c, err := nextNonSpace(r)
	if err != nil {
		return nil, badRequest("malformed JSON: a value is missing")
	}
	if c == '"' {
		return readRawString(r)
	}
	out := []byte{c}
	depth := 0
	if c == '{' || c == '[' {
		depth = 1
	}
	for {
		if depth == 0 {
			next, err := r.Peek(1)
			if err != nil || strings.ContainsRune(",} \t\r\n", rune(next[0])) {
				return out, nil
			}
		}
		c, err := r.ReadByte()
		if err != nil {
			return nil, badRequest("malformed JSON: a value is cut short")
		}
		switch c {
		case '"':
			s, err := readRawString(r)
			if err != nil {
				return nil, err
			}
			out = append(out, s[1:]...)
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		}
		out = append(out, c)
		if len(out) > maxSmallJSONValue {
			return nil, badRequest("a JSON value other than content_b64 is longer than %d bytes", maxSmallJSONValue)
		}
		if depth == 0 && (c == '}' || c == ']') {
			return out, nil
		}
	}
}

// jsonStringBody yields the characters of a JSON string up to its closing
// quote. Base64 needs no escapes; the one an encoder may add anyway (\/) is
// undone, any other escape is refused.
type jsonStringBody struct {
	r    *bufio.Reader
	done bool
}

func (j *jsonStringBody) Read(p []byte) (int, error) {
	if j.done {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) {
		if n > 0 && j.r.Buffered() == 0 {
			break // hand over what we have rather than block
		}
		c, err := j.r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return n, badRequest("malformed JSON: content_b64 is cut short")
			}
			return n, err
		}
		switch c {
		case '"':
			j.done = true
			if n == 0 {
				return 0, io.EOF
			}
			return n, nil
		case '\\':
			e, err := j.r.ReadByte()
			if err != nil || e != '/' {
				return n, badRequest("content_b64 is not valid standard base64: it contains a JSON escape")
			}
			c = '/'
		}
		p[n] = c
		n++
	}
	return n, nil
}
