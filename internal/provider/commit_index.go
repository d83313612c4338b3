package provider

import (
	"context"
	"sync"
	"time"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// commitListTimeout bounds one listing of every commit. A listing outlives
// the caller that started it (others may have joined it), so it needs its
// own limit; it is still abandoned as soon as nobody waits for it.
const commitListTimeout = 10 * time.Minute

// commitIndex answers "what is commit X?" for every resource and data source
// of one provider instance. The API has no single-commit GET, so the index
// lists the organisation's commits once, shares that listing with every
// concurrent caller, and lists again only when a caller asks for an id the
// index does not hold. A plan with a hundred vers_commit data sources
// therefore lists once.
//
// Listings are numbered when they start. A listing that started before a
// caller began may predate the commit the caller is looking for (another
// resource may have just created it), so a miss is final only when it comes
// from a listing numbered above the latest one started when the caller began.
type commitIndex struct {
	list        func(context.Context) ([]vers.CommitInfo, error)
	listTimeout time.Duration

	mu      sync.Mutex
	started int // listings started so far; the n-th listing is numbered n
	have    int // number of the listing the index holds; 0: none yet
	stale   int // All does not trust listings numbered stale or below (Forget)
	byID    map[string]vers.CommitInfo
	ordered []vers.CommitInfo // never modified in place: All hands it out
	// forgotten maps each id passed to Forget to the latest listing
	// started at that moment: listings numbered above it already reflect
	// the change, listings numbered at or below must drop the id.
	forgotten map[string]int
	inflight  *listing
}

type listing struct {
	seq     int
	done    chan struct{}
	err     error // set before done is closed
	waiters int   // callers waiting; guarded by commitIndex.mu
	cancel  context.CancelFunc
}

func newCommitIndex(client *vers.Client) *commitIndex {
	return newCommitIndexWithLister(client.ListAllCommits, commitListTimeout)
}

// newCommitIndexWithLister builds an index over any listing function (tests
// inject a fake one).
func newCommitIndexWithLister(list func(context.Context) ([]vers.CommitInfo, error), timeout time.Duration) *commitIndex {
	return &commitIndex{list: list, listTimeout: timeout, forgotten: map[string]int{}}
}

// Get returns the commit with this id and whether it exists. A hit is served
// from whatever the index holds; a miss is answered only by a listing that
// started after this call began.
func (ix *commitIndex) Get(ctx context.Context, id string) (vers.CommitInfo, bool, error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	after := ix.started
	for {
		if c, ok := ix.byID[id]; ok {
			return c, true, nil
		}
		if ix.have > after {
			return vers.CommitInfo{}, false, nil
		}
		if err := ix.awaitLocked(ctx, after); err != nil {
			return vers.CommitInfo{}, false, err
		}
	}
}

// All returns every commit of the organisation, listing at most once per
// provider instance unless Forget was called since that listing started.
// The returned slice is shared: callers must not modify it.
func (ix *commitIndex) All(ctx context.Context) ([]vers.CommitInfo, error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for ix.have <= ix.stale {
		if err := ix.awaitLocked(ctx, ix.stale); err != nil {
			return nil, err
		}
	}
	return ix.ordered, nil
}

// Forget tells the index that what it knows about id is out of date: the
// commit was deleted, or was just created (with others, such as a build's
// layer commits) behind the index's back. The id is dropped at once and from
// any listing already running; Get(id) therefore lists again before
// answering, and All lists again before its next answer. Get for other ids
// keeps serving hits from the current listing.
func (ix *commitIndex) Forget(id string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.forgotten[id] = ix.started
	ix.stale = ix.started
	if _, ok := ix.byID[id]; !ok {
		return
	}
	delete(ix.byID, id)
	kept := make([]vers.CommitInfo, 0, len(ix.ordered))
	for _, c := range ix.ordered {
		if c.CommitID != id {
			kept = append(kept, c)
		}
	}
	ix.ordered = kept
}

// awaitLocked waits for the listing in flight, or starts one when none is.
// Called with ix.mu held; returns with it held. It returns an error only
// when ctx ends or a listing numbered above after fails: a failed older
// listing is no answer for this caller, who loops and starts a fresh one.
func (ix *commitIndex) awaitLocked(ctx context.Context, after int) error {
	l := ix.inflight
	if l == nil {
		l = ix.startLocked(ctx)
	}
	l.waiters++
	ix.mu.Unlock()
	select {
	case <-l.done:
		ix.mu.Lock()
		l.waiters--
		if l.err != nil && l.seq > after {
			return l.err
		}
		return nil
	case <-ctx.Done():
		ix.mu.Lock()
		l.waiters--
		if l.waiters == 0 && ix.inflight == l {
			// Nobody needs it any more (Ctrl-C): stop it, and let the
			// next caller start afresh rather than join a dying listing.
			ix.inflight = nil
			l.cancel()
		}
		return ctx.Err()
	}
}

// startLocked starts the next listing. It runs detached from the starter's
// cancellation (keeping its values, such as the logger), because callers
// that join it must not fail when the starter gives up.
func (ix *commitIndex) startLocked(ctx context.Context) *listing {
	ix.started++
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ix.listTimeout)
	l := &listing{seq: ix.started, done: make(chan struct{}), cancel: cancel}
	ix.inflight = l
	go ix.run(lctx, l)
	return l
}

func (ix *commitIndex) run(ctx context.Context, l *listing) {
	commits, err := ix.list(ctx)
	l.cancel()
	ix.mu.Lock()
	if ix.inflight == l {
		ix.inflight = nil
	}
	if err == nil && l.seq > ix.have {
		ix.installLocked(l.seq, commits)
	}
	l.err = err
	ix.mu.Unlock()
	close(l.done)
}

// installLocked makes listing number seq the index's contents, without the
// ids Forget dropped after that listing started.
func (ix *commitIndex) installLocked(seq int, commits []vers.CommitInfo) {
	for id, at := range ix.forgotten {
		if at < seq {
			delete(ix.forgotten, id) // the listing started after the change
		}
	}
	byID := make(map[string]vers.CommitInfo, len(commits))
	ordered := make([]vers.CommitInfo, 0, len(commits))
	for _, c := range commits {
		if _, gone := ix.forgotten[c.CommitID]; gone {
			continue
		}
		byID[c.CommitID] = c
		ordered = append(ordered, c)
	}
	ix.byID, ix.ordered, ix.have = byID, ordered, seq
}
