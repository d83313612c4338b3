package vers

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/uuid"
)

func chunkLine(stream, data string, cursor int) string {
	return `{"type":"chunk","stream":"` + stream + `","data_b64":"` + base64.StdEncoding.EncodeToString([]byte(data)) +
		`","cursor":` + itoa(cursor) + `,"exec_id":"e1"}` + "\n"
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestExecStreamCopyWithSplitReadsAndBlankLines(t *testing.T) {
	input := "\n" + chunkLine("stdout", "hello ", 1) + "\r\n\n" +
		"not json at all\n" +
		`{"no_type":true}` + "\n" +
		chunkLine("stderr", "warn\n", 2) +
		chunkLine("stdout", "world\n", 3) +
		`{"type":"exit","exit_code":3,"cursor":4,"exec_id":"e1"}` // no trailing newline
	// OneByteReader splits every line across many reads.
	s := NewExecStreamReader(context.Background(), iotest.OneByteReader(strings.NewReader(input)), "", 0)
	var stdout, stderr bytes.Buffer
	code, err := s.Copy(&stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if code != 3 || stdout.String() != "hello world\n" || stderr.String() != "warn\n" {
		t.Fatalf("code %d stdout %q stderr %q", code, stdout.String(), stderr.String())
	}
	if s.Cursor() != 4 || s.ExecID() != "e1" {
		t.Fatalf("cursor %d exec id %q", s.Cursor(), s.ExecID())
	}
	if _, err := s.Next(); err != io.EOF {
		t.Fatalf("Next after exit = %v, want io.EOF", err)
	}
}

func TestExecStream16MiBLine(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB of output in one chunk
	line := `{"type":"chunk","stream":"stdout","data_b64":"` + base64.StdEncoding.EncodeToString(payload) + `","cursor":1}` + "\n"
	input := line + `{"type":"exit","exit_code":0}` + "\n"
	s := NewExecStreamReader(context.Background(), strings.NewReader(input), "x", 0)
	var out bytes.Buffer
	code, err := s.Copy(&out, io.Discard)
	if err != nil || code != 0 {
		t.Fatalf("code %d err %v", code, err)
	}
	if !bytes.Equal(out.Bytes(), payload) {
		t.Fatalf("got %d bytes, want %d", out.Len(), len(payload))
	}
}

func TestExecStreamOverlongLineIsAnError(t *testing.T) {
	input := `{"type":"chunk","data_b64":"` + strings.Repeat("A", MaxStreamLine) + `"}` + "\n"
	s := NewExecStreamReader(context.Background(), strings.NewReader(input), "x", 0)
	_, err := s.Copy(io.Discard, io.Discard)
	if err == nil || errors.Is(err, ErrStreamCut) || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("err = %v, want a line-too-long error", err)
	}
}

func TestExecStreamErrorLine(t *testing.T) {
	input := chunkLine("stdout", "partial", 1) + `{"type":"error","code":"vm_gone","message":"the VM stopped"}` + "\n"
	s := NewExecStreamReader(context.Background(), strings.NewReader(input), "x", 0)
	var out bytes.Buffer
	code, err := s.Copy(&out, io.Discard)
	var streamErr *ExecStreamError
	if !errors.As(err, &streamErr) || streamErr.Code != "vm_gone" || streamErr.Message != "the VM stopped" {
		t.Fatalf("err = %v, want the server's error line", err)
	}
	if code != -1 || out.String() != "partial" {
		t.Fatalf("code %d out %q", code, out.String())
	}
}

func TestExecStreamCut(t *testing.T) {
	for name, input := range map[string]string{
		"eof after chunk":     chunkLine("stdout", "a", 5),
		"half a line":         chunkLine("stdout", "a", 5) + `{"type":"exit","exi`,
		"empty":               "",
		"only blank lines":    "\n\n\n",
		"garbage then EOF":    "}}}\n",
		"exit type in string": `{"type":"chunk","stream":"stdout","data_b64":"","cursor":5,"x":"{\"type\":\"exit\"}"}` + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			s := NewExecStreamReader(context.Background(), strings.NewReader(input), "e9", 0)
			_, err := s.Copy(io.Discard, io.Discard)
			if !errors.Is(err, ErrStreamCut) {
				t.Fatalf("err = %v, want ErrStreamCut", err)
			}
			if s.ExecID() != "e9" && s.ExecID() != "e1" {
				t.Fatalf("exec id %q", s.ExecID())
			}
		})
	}
	s := NewExecStreamReader(context.Background(), iotest.ErrReader(io.ErrUnexpectedEOF), "e9", 0)
	if _, err := s.Next(); !errors.Is(err, ErrStreamCut) || !strings.Contains(err.Error(), "unexpected EOF") {
		t.Fatalf("read error: %v", err)
	}
}

func TestExecStreamBadBase64(t *testing.T) {
	input := `{"type":"chunk","stream":"stdout","data_b64":"!!!","cursor":1}` + "\n"
	s := NewExecStreamReader(context.Background(), strings.NewReader(input), "x", 0)
	if _, err := s.Copy(io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "base64") {
		t.Fatalf("err = %v", err)
	}
}

func TestExecStreamOverHTTPAndReattach(t *testing.T) {
	var gotReq ExecRequest
	var gotAttach ExecAttachRequest
	env := newTestEnv(t, 0, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		switch r.URL.Path {
		case "/api/v1/vm/vm1/exec/stream":
			_ = json.NewDecoder(r.Body).Decode(&gotReq)
			_, _ = io.WriteString(w, chunkLine("stdout", "one\n", 1)) // then the connection ends early
		case "/api/v1/vm/vm1/exec/stream/attach":
			_ = json.NewDecoder(r.Body).Decode(&gotAttach)
			_, _ = io.WriteString(w, chunkLine("stdout", "two\n", 2)+`{"type":"exit","exit_code":0,"cursor":3}`+"\n")
		default:
			t.Errorf("unexpected path %s", r.URL.Path)
		}
	})
	ctx := context.Background()
	s, err := env.client.ExecStream(ctx, "vm1", ExecRequest{Command: []string{"bash", "-c", "echo"}})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := s.Copy(&out, io.Discard); !errors.Is(err, ErrStreamCut) {
		t.Fatalf("first stream: %v, want ErrStreamCut", err)
	}
	s.Close()
	if _, err := uuid.Parse(gotReq.ExecID); err != nil {
		t.Fatalf("the client must pick an exec id; request had %q", gotReq.ExecID)
	}
	cursor := s.Cursor()
	s2, err := env.client.AttachExecStream(ctx, "vm1", ExecAttachRequest{ExecID: s.ExecID(), Cursor: &cursor})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	code, err := s2.Copy(&out, io.Discard)
	if err != nil || code != 0 || out.String() != "one\ntwo\n" {
		t.Fatalf("code %d err %v out %q", code, err, out.String())
	}
	if gotAttach.Cursor == nil || *gotAttach.Cursor != 1 || gotAttach.ExecID != "e1" {
		t.Fatalf("attach request %+v", gotAttach)
	}
}

func TestExecStreamCancellationReturnsPromptly(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	env := newTestEnv(t, 0, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, chunkLine("stdout", "started\n", 1))
		w.(http.Flusher).Flush()
		select { // a command that never finishes
		case <-r.Context().Done():
		case <-release:
		}
	})
	// A per-attempt timeout must not cut a long-running stream.
	env.client.timeout = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	s, err := env.client.ExecStream(ctx, "vm1", ExecRequest{Command: []string{"sleep", "infinity"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	line, err := s.Next()
	if err != nil || line.Type != StreamLineChunk {
		t.Fatalf("first line %+v, %v", line, err)
	}
	time.Sleep(50 * time.Millisecond) // past the per-attempt timeout
	done := make(chan error, 1)
	go func() {
		_, err := s.Copy(io.Discard, io.Discard)
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Copy did not return after cancellation")
	}
}

func TestExecStreamHTTPErrorBeforeStreaming(t *testing.T) {
	env := newTestEnv(t, 0, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, `{"error":"VM not found"}`)
	})
	_, err := env.client.ExecStream(context.Background(), "gone", ExecRequest{Command: []string{"true"}})
	if !IsNotFound(err) {
		t.Fatalf("err = %v", err)
	}
}

// BenchmarkExecStreamCopy measures decoding throughput of the NDJSON reader
// on 64 KiB output chunks.
func BenchmarkExecStreamCopy(b *testing.B) {
	var buf bytes.Buffer
	chunk := strings.Repeat("x", 64<<10)
	for i := range 64 {
		buf.WriteString(chunkLine("stdout", chunk, i+1))
	}
	buf.WriteString(`{"type":"exit","exit_code":0}` + "\n")
	input := buf.Bytes()
	b.SetBytes(int64(64 * len(chunk)))
	for b.Loop() {
		s := NewExecStreamReader(context.Background(), bytes.NewReader(input), "", 0)
		if _, err := s.Copy(io.Discard, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
