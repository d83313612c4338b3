package versd

import (
	"context"
	"encoding/base64"
	"sync"
	"time"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// Retention limits for exec output kept in memory for attach and logs.
const (
	maxChunkBytes     = 64 << 10 // one NDJSON chunk line carries at most this much
	maxExecRetained   = 16 << 20 // bytes of output one exec keeps for re-attach
	maxVMLogEntries   = 4096     // entries GET /logs keeps per VM
	maxExecsPerVMKept = 256      // finished execs kept per VM for re-attach
)

// execRecord is one command's output as a sequence of NDJSON lines. Cursors
// are 1-based positions in lines; a client that saw cursor c re-attaches
// with cursor c and gets the lines after it.
type execRecord struct {
	id   string
	vmID string

	mu       sync.Mutex
	lines    []vers.StreamLine
	first    int64 // cursor of lines[0]; earlier lines were dropped for space
	retained int
	done     bool
	changed  chan struct{} // closed and replaced on every append
}

func (e *execRecord) append(line vers.StreamLine) {
	e.mu.Lock()
	defer e.mu.Unlock()
	line.Cursor = e.first + int64(len(e.lines))
	line.ExecID = e.id
	e.lines = append(e.lines, line)
	e.retained += len(line.DataB64)
	for e.retained > maxExecRetained && len(e.lines) > 1 {
		e.retained -= len(e.lines[0].DataB64)
		e.lines = e.lines[1:]
		e.first++
	}
	if line.Type != vers.StreamLineChunk {
		e.done = true
	}
	close(e.changed)
	e.changed = make(chan struct{})
}

// after returns the lines with a cursor greater than cursor, whether the
// exec has finished, and a channel closed at the next append.
func (e *execRecord) after(cursor int64) ([]vers.StreamLine, bool, <-chan struct{}) {
	e.mu.Lock()
	defer e.mu.Unlock()
	start := cursor + 1 - e.first
	if start < 0 {
		start = 0 // the client asked for output we no longer have: send what is left
	}
	var out []vers.StreamLine
	if start < int64(len(e.lines)) {
		out = append(out, e.lines[start:]...)
	}
	return out, e.done, e.changed
}

func (e *execRecord) lastCursor() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.first + int64(len(e.lines)) - 1
}

// logEntry is one entry of GET /vm/{id}/logs.
type logEntry struct {
	vers.ExecLogEntry
}

// vmLog is a VM's exec history.
type vmLog struct {
	execs   []string
	entries []logEntry
	first   int64 // offset of entries[0]
}

// execRegistry holds exec records and logs of every VM, in memory: a
// restart forgets exec output (processes do not survive it either).
type execRegistry struct {
	mu    sync.Mutex
	execs map[string]*execRecord
	logs  map[string]*vmLog
}

func newExecRegistry() *execRegistry {
	return &execRegistry{execs: map[string]*execRecord{}, logs: map[string]*vmLog{}}
}

// start registers a new exec; false when the id is taken.
func (r *execRegistry) start(vmID, execID string) (*execRecord, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, taken := r.execs[execID]; taken {
		return nil, false
	}
	rec := &execRecord{id: execID, vmID: vmID, first: 1, changed: make(chan struct{})}
	r.execs[execID] = rec
	l := r.logs[vmID]
	if l == nil {
		l = &vmLog{}
		r.logs[vmID] = l
	}
	l.execs = append(l.execs, execID)
	if len(l.execs) > maxExecsPerVMKept {
		delete(r.execs, l.execs[0])
		l.execs = l.execs[1:]
	}
	return rec, true
}

func (r *execRegistry) get(vmID, execID string) *execRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.execs[execID]
	if rec == nil || rec.vmID != vmID {
		return nil
	}
	return rec
}

func (r *execRegistry) log(vmID, execID, stream string, data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.logs[vmID]
	if l == nil {
		return
	}
	id := execID
	l.entries = append(l.entries, logEntry{vers.ExecLogEntry{
		Timestamp: time.Now().UTC().Format(time.RFC3339Nano), Stream: stream,
		DataB64: base64.StdEncoding.EncodeToString(data), ExecID: &id,
	}})
	if over := len(l.entries) - maxVMLogEntries; over > 0 {
		l.entries = l.entries[over:]
		l.first += int64(over)
	}
}

// readLog returns up to max entries from offset (an entry index: versd
// counts entries, not bytes), filtered by stream when set.
func (r *execRegistry) readLog(vmID string, offset int64, max int, stream string) vers.ExecLogResponse {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := vers.ExecLogResponse{Entries: []vers.ExecLogEntry{}, NextOffset: offset, EOF: true}
	l := r.logs[vmID]
	if l == nil {
		return out
	}
	i := offset - l.first
	if i < 0 {
		i = 0
	}
	for ; i < int64(len(l.entries)); i++ {
		if len(out.Entries) == max {
			out.EOF = false
			break
		}
		if stream == "" || l.entries[i].Stream == stream {
			out.Entries = append(out.Entries, l.entries[i].ExecLogEntry)
		}
	}
	out.NextOffset = l.first + i
	return out
}

func (r *execRegistry) forgetVM(vmID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if l := r.logs[vmID]; l != nil {
		for _, id := range l.execs {
			delete(r.execs, id)
		}
	}
	delete(r.logs, vmID)
}

// chunkWriter turns a process's output into chunk lines.
type chunkWriter struct {
	reg    *execRegistry
	rec    *execRecord
	stream string
}

func (c chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), maxChunkBytes)
		c.rec.append(vers.StreamLine{Type: vers.StreamLineChunk, Stream: c.stream, DataB64: base64.StdEncoding.EncodeToString(p[:k])})
		c.reg.log(c.rec.vmID, c.rec.id, c.stream, p[:k])
		p = p[k:]
	}
	return n, nil
}

// waitDone blocks until the exec finished or ctx ends.
func (e *execRecord) waitDone(ctx context.Context) bool {
	for {
		_, done, changed := e.after(1 << 62)
		if done {
			return true
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return false
		}
	}
}
