package sandbox

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
)

// The Manager talks to an agent over one stream socket per request. Each
// message is a frame: one type byte, a big-endian uint32 payload length, and
// the payload. The first frame is always a frameRequest; an exec then
// exchanges stdin, stdout and stderr frames until the agent sends frameExit.
// The client closing the connection means "kill the command".
const (
	frameRequest  byte = 'q' // JSON request
	frameStdin    byte = 'i' // stdin bytes
	frameStdinEOF byte = 'I' // stdin closed
	frameStdout   byte = 'o'
	frameStderr   byte = 'e'
	frameExit     byte = 'x' // JSON response; last frame
	frameResize   byte = 'r' // terminal size: rows, cols as big-endian uint16
	frameSignal   byte = 's' // signal name without "SIG", e.g. "INT"
)

// maxFrame bounds a frame's payload so a corrupt stream cannot make either
// side allocate without limit.
const maxFrame = 1 << 20

// request is the first frame of every connection.
type request struct {
	Op   string    `json:"op"` // "exec", "dial", "sync", "pause", "resume"
	Exec *ExecSpec `json:"exec,omitempty"`
	Dial *dialSpec `json:"dial,omitempty"`
}

// dialSpec asks the agent for a TCP connection made from inside the VM.
type dialSpec struct {
	Host string `json:"host"`
	Port int    `json:"port"`
}

// response ends every connection.
type response struct {
	ExitCode int    `json:"exit_code"`
	Error    string `json:"error,omitempty"` // set when the operation itself failed
	// Signal names the signal that killed an exec'd command, without
	// "SIG" ("KILL"); ExitCode is then 128+n, as a shell reports it.
	Signal     string `json:"signal,omitempty"`
	CoreDumped bool   `json:"core_dumped,omitempty"`
}

func writeFrame(w io.Writer, kind byte, payload []byte) error {
	var hdr [5]byte
	hdr[0] = kind
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(payload)))
	// One write per frame keeps frames whole when writers share a connection
	// under a mutex, and saves a syscall.
	buf := make([]byte, 0, len(hdr)+len(payload))
	buf = append(append(buf, hdr[:]...), payload...)
	_, err := w.Write(buf)
	return err
}

func writeJSONFrame(w io.Writer, kind byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeFrame(w, kind, b)
}

func readFrame(r io.Reader) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > maxFrame {
		return 0, nil, fmt.Errorf("sandbox: frame of %d bytes exceeds the %d byte limit", n, maxFrame)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, err
	}
	return hdr[0], payload, nil
}
