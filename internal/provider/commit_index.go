package provider

import (
	"context"
	"sync"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// commitIndex answers "what is commit X?" for every resource and data source
// of one provider instance. The API has no single-commit GET, so the index
// lists the organisation's commits once, shares that listing with every
// concurrent caller, and lists again only when a caller asks for an id the
// current listing does not hold (a commit created after the listing). A plan
// with a hundred vers_commit data sources therefore lists once.
type commitIndex struct {
	client *vers.Client

	mu       sync.Mutex
	byID     map[string]vers.CommitInfo
	ordered  []vers.CommitInfo
	gen      int // incremented by every completed listing
	inflight *listing
}

type listing struct {
	done chan struct{}
	err  error
}

func newCommitIndex(client *vers.Client) *commitIndex {
	return &commitIndex{client: client}
}

// Get returns the commit with this id and whether it exists.
func (ix *commitIndex) Get(ctx context.Context, id string) (vers.CommitInfo, bool, error) {
	ix.mu.Lock()
	startGen := ix.gen
	ix.mu.Unlock()
	for {
		ix.mu.Lock()
		if ix.gen > 0 {
			if c, ok := ix.byID[id]; ok {
				ix.mu.Unlock()
				return c, true, nil
			}
			// A listing finished after this call began and still lacks the
			// id: the commit does not exist.
			if ix.gen > startGen {
				ix.mu.Unlock()
				return vers.CommitInfo{}, false, nil
			}
		}
		ix.mu.Unlock()
		if err := ix.refresh(ctx); err != nil {
			return vers.CommitInfo{}, false, err
		}
	}
}

// All returns every commit of the organisation, listing at most once per
// provider instance unless Forget was called.
func (ix *commitIndex) All(ctx context.Context) ([]vers.CommitInfo, error) {
	ix.mu.Lock()
	if ix.gen > 0 {
		out := ix.ordered
		ix.mu.Unlock()
		return out, nil
	}
	ix.mu.Unlock()
	if err := ix.refresh(ctx); err != nil {
		return nil, err
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.ordered, nil
}

// Remember records a commit this provider just created or changed, so later
// lookups in the same operation need no new listing.
func (ix *commitIndex) Remember(c vers.CommitInfo) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.byID == nil {
		return // nothing listed yet; the first listing will include it
	}
	if _, ok := ix.byID[c.CommitID]; !ok {
		ix.ordered = append(ix.ordered, c)
	}
	ix.byID[c.CommitID] = c
}

// Forget drops a deleted commit from the index.
func (ix *commitIndex) Forget(id string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if _, ok := ix.byID[id]; !ok {
		return
	}
	delete(ix.byID, id)
	kept := ix.ordered[:0:0]
	for _, c := range ix.ordered {
		if c.CommitID != id {
			kept = append(kept, c)
		}
	}
	ix.ordered = kept
}

// refresh lists all commits, joining a listing already in flight.
func (ix *commitIndex) refresh(ctx context.Context) error {
	ix.mu.Lock()
	if l := ix.inflight; l != nil {
		ix.mu.Unlock()
		select {
		case <-l.done:
			return l.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	l := &listing{done: make(chan struct{})}
	ix.inflight = l
	ix.mu.Unlock()

	commits, err := ix.client.ListAllCommits(ctx)

	ix.mu.Lock()
	if err == nil {
		ix.byID = make(map[string]vers.CommitInfo, len(commits))
		for _, c := range commits {
			ix.byID[c.CommitID] = c
		}
		ix.ordered = commits
		ix.gen++
	}
	l.err = err
	ix.inflight = nil
	ix.mu.Unlock()
	close(l.done)
	return err
}
