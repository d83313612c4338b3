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
	// DefaultExecOutputBudget caps the exec output all VMs keep together
	// (re-attach buffers and GET /logs entries). Without it 160 execs of
	// 12 MiB each took versd to 4 GB.
	DefaultExecOutputBudget = 256 << 20
	// lineOverhead approximates what a retained line costs besides its data.
	lineOverhead = 128
)

// execRecord is one command's output as a sequence of NDJSON lines. Cursors
// are 1-based positions in lines; a client that saw cursor c re-attaches
// with cursor c and gets the lines after it. Chunks are dropped from the
// front when the exec's own cap or the global budget needs room; the final
// exit or error line is always kept.
type execRecord struct {
	id   string
	vmID string

	mu        sync.Mutex
	lines     []vers.StreamLine
	first     int64 // cursor of lines[0]; earlier lines were dropped for space
	retained  int64
	done      bool
	forgotten bool          // removed from the registry; its bytes no longer count
	changed   chan struct{} // closed and replaced on every append
}

func lineCost(l vers.StreamLine) int64 { return int64(len(l.DataB64)+len(l.Message)) + lineOverhead }

// add appends a line and trims the exec to its own cap; it returns the
// line's cursor and the bytes the trimming freed.
func (e *execRecord) add(line vers.StreamLine) (cursor, freed int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	line.Cursor = e.first + int64(len(e.lines))
	line.ExecID = e.id
	e.lines = append(e.lines, line)
	e.retained += lineCost(line)
	for e.retained > maxExecRetained && len(e.lines) > 1 {
		freed += e.dropFirstLocked()
	}
	if line.Type != vers.StreamLineChunk {
		e.done = true
	}
	close(e.changed)
	e.changed = make(chan struct{})
	return line.Cursor, freed
}

func (e *execRecord) dropFirstLocked() int64 {
	c := lineCost(e.lines[0])
	e.lines[0] = vers.StreamLine{}
	e.lines = e.lines[1:]
	e.first++
	e.retained -= c
	return c
}

// evict drops the chunk at cursor if it is still the oldest line; it
// returns the bytes freed (0 when an earlier trim already dropped it).
func (e *execRecord) evict(cursor int64) int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.forgotten || len(e.lines) == 0 || e.first != cursor || e.lines[0].Type != vers.StreamLineChunk {
		return 0
	}
	return e.dropFirstLocked()
}

// after returns the lines with a cursor greater than cursor, whether the
// exec has finished, and a channel closed at the next append. When lines
// after cursor were dropped, the result starts at the oldest retained line;
// callers that must not skip output compare its cursor (see oldest).
func (e *execRecord) after(cursor int64) ([]vers.StreamLine, bool, <-chan struct{}) {
	e.mu.Lock()
	defer e.mu.Unlock()
	start := cursor + 1 - e.first
	if start < 0 {
		start = 0
	}
	var out []vers.StreamLine
	if start < int64(len(e.lines)) {
		out = append(out, e.lines[start:]...)
	}
	return out, e.done, e.changed
}

// oldest is the cursor of the oldest retained line: re-attaching with a
// cursor below oldest-1 would skip output.
func (e *execRecord) oldest() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.first
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

func (l logEntry) cost() int64 { return int64(len(l.DataB64)) + lineOverhead }

// vmLog is a VM's exec history.
type vmLog struct {
	execs     []string
	entries   []logEntry
	first     int64 // offset of entries[0]
	forgotten bool
}

// dropFirst removes the oldest entry and returns its cost.
func (l *vmLog) dropFirst() int64 {
	c := l.entries[0].cost()
	l.entries[0] = logEntry{}
	l.entries = l.entries[1:]
	l.first++
	return c
}

// retainedItem is one chunk in the global order of arrival: an exec line
// (rec, at cursor pos) or a log entry (log, at offset pos). Evicting the
// oldest item first keeps every exec's and log's lines contiguous.
type retainedItem struct {
	rec *execRecord
	log *vmLog
	pos int64
}

// execRegistry holds exec records and logs of every VM, in memory: a
// restart forgets exec output (processes do not survive it either). All the
// output together stays under budget bytes; the oldest chunks go first.
type execRegistry struct {
	mu     sync.Mutex
	execs  map[string]*execRecord
	logs   map[string]*vmLog
	budget int64
	total  int64
	queue  []retainedItem
}

func newExecRegistry(budget int64) *execRegistry {
	if budget <= 0 {
		budget = DefaultExecOutputBudget
	}
	return &execRegistry{execs: map[string]*execRecord{}, logs: map[string]*vmLog{}, budget: budget}
}

// Retained reports the bytes of exec output held now.
func (r *execRegistry) retained() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total
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
		r.forgetExecLocked(l.execs[0])
		l.execs = l.execs[1:]
	}
	return rec, true
}

func (r *execRegistry) forgetExecLocked(execID string) {
	rec := r.execs[execID]
	if rec == nil {
		return
	}
	delete(r.execs, execID)
	rec.mu.Lock()
	rec.forgotten = true
	r.total -= rec.retained
	rec.mu.Unlock()
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

// appendLine adds a line to an exec and keeps the global budget.
func (r *execRegistry) appendLine(rec *execRecord, line vers.StreamLine) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cursor, freed := rec.add(line)
	rec.mu.Lock()
	forgotten := rec.forgotten
	rec.mu.Unlock()
	if !forgotten {
		r.total += lineCost(line) - freed
		if line.Type == vers.StreamLineChunk {
			r.queue = append(r.queue, retainedItem{rec: rec, pos: cursor})
		}
	}
	r.enforceLocked()
}

func (r *execRegistry) log(vmID, execID, stream string, data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.logs[vmID]
	if l == nil {
		return
	}
	id := execID
	e := logEntry{vers.ExecLogEntry{
		Timestamp: time.Now().UTC().Format(time.RFC3339Nano), Stream: stream,
		DataB64: base64.StdEncoding.EncodeToString(data), ExecID: &id,
	}}
	l.entries = append(l.entries, e)
	r.total += e.cost()
	r.queue = append(r.queue, retainedItem{log: l, pos: l.first + int64(len(l.entries)) - 1})
	for len(l.entries) > maxVMLogEntries {
		r.total -= l.dropFirst()
	}
	r.enforceLocked()
}

// enforceLocked drops the oldest chunks until the output fits the budget.
func (r *execRegistry) enforceLocked() {
	for r.total > r.budget && len(r.queue) > 0 {
		it := r.queue[0]
		r.queue[0] = retainedItem{}
		r.queue = r.queue[1:]
		switch {
		case it.rec != nil:
			r.total -= it.rec.evict(it.pos)
		case it.log != nil && !it.log.forgotten && len(it.log.entries) > 0 && it.log.first == it.pos:
			r.total -= it.log.dropFirst()
		}
	}
	// The queue only grows at its end; copy it down now and then so the
	// backing array does not keep every item ever queued.
	if cap(r.queue) > 4096 && len(r.queue) < cap(r.queue)/4 {
		r.queue = append([]retainedItem(nil), r.queue...)
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
			r.forgetExecLocked(id)
		}
		for _, e := range l.entries {
			r.total -= e.cost()
		}
		l.forgotten = true
		l.entries = nil
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
		c.reg.appendLine(c.rec, vers.StreamLine{Type: vers.StreamLineChunk, Stream: c.stream, DataB64: base64.StdEncoding.EncodeToString(p[:k])})
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
