package vers

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// FuzzExecStream feeds arbitrary bytes to the NDJSON reader. Whatever the
// input, Copy must end with an exit code, a stream error or a cut, never
// panic, and the output must not depend on how the input is split into reads.
func FuzzExecStream(f *testing.F) {
	f.Add([]byte(chunkLine("stdout", "hi\n", 1) + `{"type":"exit","exit_code":0}` + "\n"))
	f.Add([]byte(chunkLine("stderr", "x", 1) + "\n\n" + `{"type":"error","code":"c","message":"m"}`))
	f.Add([]byte(`{"type":"chunk","data_b64":"@@"}` + "\n"))
	f.Add([]byte("{\"type\":\"exit\"}"))
	f.Add([]byte("\x00\xff{\n}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		run := func(r io.Reader) (int, string, string, error) {
			var stdout, stderr bytes.Buffer
			code, err := NewExecStreamReader(context.Background(), r, "", 0).Copy(&stdout, &stderr)
			return code, stdout.String(), stderr.String(), err
		}
		code, out, errOut, err := run(bytes.NewReader(data))
		code2, out2, errOut2, err2 := run(iotest.OneByteReader(bytes.NewReader(data)))
		if code != code2 || out != out2 || errOut != errOut2 || (err == nil) != (err2 == nil) {
			t.Fatalf("split reads changed the result: (%d %q %q %v) vs (%d %q %q %v)", code, out, errOut, err, code2, out2, errOut2, err2)
		}
		var streamErr *ExecStreamError
		switch {
		case err == nil:
			if code < 0 && !strings.Contains(string(data), "exit_code") {
				t.Fatalf("negative exit code %d without an exit_code field", code)
			}
		case errors.Is(err, ErrStreamCut), errors.As(err, &streamErr):
		case strings.Contains(err.Error(), "base64"), strings.Contains(err.Error(), "longer than"):
		default:
			t.Fatalf("unexpected error kind: %v", err)
		}
	})
}
