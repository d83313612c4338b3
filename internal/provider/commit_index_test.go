package provider

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// testGuard bounds every wait in these tests so a regression fails instead of
// hanging; no test asserts on how long anything takes.
const testGuard = 10 * time.Second

// fakeLister hands every listing to the test, which answers it when it
// chooses: a listing can be held "mid-way" while other calls happen.
type fakeLister struct{ calls chan *fakeListCall }

type fakeListCall struct {
	ctx   context.Context
	reply chan fakeListResult
}

type fakeListResult struct {
	commits []vers.CommitInfo
	err     error
}

func newFakeIndex() (*commitIndex, *fakeLister) {
	f := &fakeLister{calls: make(chan *fakeListCall)}
	return newCommitIndexWithLister(f.list, time.Hour), f
}

func (f *fakeLister) list(ctx context.Context) ([]vers.CommitInfo, error) {
	c := &fakeListCall{ctx: ctx, reply: make(chan fakeListResult, 1)}
	select {
	case f.calls <- c:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case r := <-c.reply:
		return r.commits, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (f *fakeLister) next(t *testing.T) *fakeListCall {
	t.Helper()
	select {
	case c := <-f.calls:
		return c
	case <-time.After(testGuard):
		t.Fatal("expected a listing, none started")
		return nil
	}
}

func (c *fakeListCall) answer(ids ...string) {
	c.reply <- fakeListResult{commits: commitsNamed(ids...)}
}

func commitsNamed(ids ...string) []vers.CommitInfo {
	out := make([]vers.CommitInfo, len(ids))
	for i, id := range ids {
		out[i] = vers.CommitInfo{CommitID: id, Name: "name-" + id}
	}
	return out
}

type getResult struct {
	commit vers.CommitInfo
	found  bool
	err    error
}

func goGet(ctx context.Context, ix *commitIndex, id string) <-chan getResult {
	ch := make(chan getResult, 1)
	go func() {
		c, found, err := ix.Get(ctx, id)
		ch <- getResult{c, found, err}
	}()
	return ch
}

func awaitGet(t *testing.T, ch <-chan getResult) getResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(testGuard):
		t.Fatal("Get did not return")
		return getResult{}
	}
}

// waitForWaiters blocks until n callers wait on the listing in flight, so
// the test knows a Get has recorded its starting point and joined.
func waitForWaiters(t *testing.T, ix *commitIndex, n int) {
	t.Helper()
	deadline := time.Now().Add(testGuard)
	for {
		ix.mu.Lock()
		got := 0
		if ix.inflight != nil {
			got = ix.inflight.waiters
		}
		ix.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %d callers on the listing, have %d", n, got)
		}
		time.Sleep(time.Millisecond)
	}
}

func commitIDsOf(cs []vers.CommitInfo) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.CommitID
	}
	return out
}

// The confirmed race: a listing starts for data.vers_commit.a, vers_build.b
// then finishes commit b, and data.vers_commit.b arrives while that listing
// is still paging. The listing predates b, so its miss must not be final.
func TestCommitIndex_missFromListingThatPredatesCallIsNotFinal(t *testing.T) {
	ix, f := newFakeIndex()
	ctx := context.Background()

	getA := goGet(ctx, ix, "a")
	first := f.next(t) // listing 1 is now mid-way
	ix.Forget("b")     // what resource_build does after creating b
	getB := goGet(ctx, ix, "b")
	waitForWaiters(t, ix, 2)
	first.answer("a") // listing 1 was taken before b existed

	var second *fakeListCall
	select {
	case second = <-f.calls:
	case r := <-getB:
		t.Fatalf("Get(b) answered from a listing that began before it: found=%v err=%v", r.found, r.err)
	case <-time.After(testGuard):
		t.Fatal("Get(b) neither answered nor listed again")
	}
	second.answer("a", "b")

	if r := awaitGet(t, getA); r.err != nil || !r.found {
		t.Fatalf("Get(a) = found %v, err %v", r.found, r.err)
	}
	if r := awaitGet(t, getB); r.err != nil || !r.found || r.commit.Name != "name-b" {
		t.Fatalf("Get(b) = %+v", r)
	}
}

// A miss is final once a listing that began after the call has run.
func TestCommitIndex_missAfterFreshListingIsNotFound(t *testing.T) {
	ix, f := newFakeIndex()
	get := goGet(context.Background(), ix, "missing")
	f.next(t).answer("a")
	if r := awaitGet(t, get); r.err != nil || r.found {
		t.Fatalf("Get(missing) = %+v, want not found", r)
	}
	// A later call lists again: the commit may have been created since.
	get = goGet(context.Background(), ix, "missing")
	f.next(t).answer("a", "missing")
	if r := awaitGet(t, get); r.err != nil || !r.found {
		t.Fatalf("second Get(missing) = %+v, want found", r)
	}
}

// A joiner must not fail because the caller that started the listing gave
// up: the listing runs detached from the starter's cancellation.
func TestCommitIndex_cancelledStarterDoesNotFailJoiner(t *testing.T) {
	ix, f := newFakeIndex()
	starterCtx, cancelStarter := context.WithCancel(context.Background())
	defer cancelStarter()

	starter := goGet(starterCtx, ix, "a")
	call := f.next(t)
	joiner := goGet(context.Background(), ix, "a")
	waitForWaiters(t, ix, 2)

	cancelStarter()
	if r := awaitGet(t, starter); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("starter err = %v, want context.Canceled", r.err)
	}
	if err := call.ctx.Err(); err != nil {
		t.Fatalf("listing context ended with the starter: %v", err)
	}
	call.answer("a")
	if r := awaitGet(t, joiner); r.err != nil || !r.found {
		t.Fatalf("joiner = %+v", r)
	}
}

// When every caller has left, the listing is stopped, and the next caller
// starts afresh instead of joining it.
func TestCommitIndex_listingAbandonedByAllCallersIsCancelled(t *testing.T) {
	ix, f := newFakeIndex()
	ctx, cancel := context.WithCancel(context.Background())
	get := goGet(ctx, ix, "a")
	call := f.next(t)
	cancel()
	if r := awaitGet(t, get); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", r.err)
	}
	select {
	case <-call.ctx.Done():
	case <-time.After(testGuard):
		t.Fatal("abandoned listing was not cancelled")
	}
	get = goGet(context.Background(), ix, "a")
	f.next(t).answer("a")
	if r := awaitGet(t, get); r.err != nil || !r.found {
		t.Fatalf("Get after abandon = %+v", r)
	}
}

// A failed listing is reported to the callers that needed it, and the next
// call lists again.
func TestCommitIndex_listingErrorReturnedThenRetried(t *testing.T) {
	ix, f := newFakeIndex()
	boom := errors.New("boom")
	get := goGet(context.Background(), ix, "a")
	f.next(t).reply <- fakeListResult{err: boom}
	if r := awaitGet(t, get); !errors.Is(r.err, boom) {
		t.Fatalf("err = %v, want boom", r.err)
	}
	get = goGet(context.Background(), ix, "a")
	f.next(t).answer("a")
	if r := awaitGet(t, get); r.err != nil || !r.found {
		t.Fatalf("retry = %+v", r)
	}
}

// A caller that joined a listing older than itself does not inherit that
// listing's failure for a miss: it needs a newer listing anyway.
func TestCommitIndex_olderListingFailureDoesNotFailLaterMiss(t *testing.T) {
	ix, f := newFakeIndex()
	getA := goGet(context.Background(), ix, "a")
	first := f.next(t)
	getB := goGet(context.Background(), ix, "b")
	waitForWaiters(t, ix, 2)
	first.reply <- fakeListResult{err: errors.New("boom")}
	if r := awaitGet(t, getA); r.err == nil {
		t.Fatal("Get(a) should report the failure of the listing it started")
	}
	f.next(t).answer("a", "b")
	if r := awaitGet(t, getB); r.err != nil || !r.found {
		t.Fatalf("Get(b) = %+v", r)
	}
}

// Forget of an id the index never held still makes All list again (a build
// created commits behind the index's back), and Get of that id re-lists.
func TestCommitIndex_forgetUnknownIDMakesNextReadsList(t *testing.T) {
	ix, f := newFakeIndex()
	ctx := context.Background()
	all := make(chan []vers.CommitInfo, 1)
	go func() { cs, _ := ix.All(ctx); all <- cs }()
	f.next(t).answer("a")
	if got := commitIDsOf(<-all); fmt.Sprint(got) != "[a]" {
		t.Fatalf("All = %v", got)
	}
	// Served from the index: the fake would block any listing, so a second
	// listing here would hang and fail at the testGuard.
	if cs, err := ix.All(ctx); err != nil || fmt.Sprint(commitIDsOf(cs)) != "[a]" {
		t.Fatalf("cached All = %v, %v", commitIDsOf(cs), err)
	}

	ix.Forget("new")
	go func() { cs, _ := ix.All(ctx); all <- cs }()
	f.next(t).answer("a", "new", "layer")
	if got := commitIDsOf(<-all); fmt.Sprint(got) != "[a new layer]" {
		t.Fatalf("All after Forget = %v", got)
	}
	if r := awaitGet(t, goGet(ctx, ix, "layer")); !r.found {
		t.Fatal("Get(layer) should hit the fresh listing")
	}
}

// Forget of a deleted commit drops it at once and also from a listing that
// was already running when it was deleted.
func TestCommitIndex_forgetDeletedCommitOverridesRunningListing(t *testing.T) {
	ix, f := newFakeIndex()
	ctx := context.Background()
	getA := goGet(ctx, ix, "a")
	call := f.next(t)
	ix.Forget("b") // deleted while the listing pages
	call.answer("a", "b")
	if r := awaitGet(t, getA); !r.found {
		t.Fatal("Get(a) not found")
	}

	getB := goGet(ctx, ix, "b")
	call = f.next(t) // the stale listing's b is not trusted
	call.answer("a")
	if r := awaitGet(t, getB); r.err != nil || r.found {
		t.Fatalf("Get(deleted b) = %+v, want not found", r)
	}
	if cs, err := ix.All(ctx); err != nil || fmt.Sprint(commitIDsOf(cs)) != "[a]" {
		t.Fatalf("All = %v, %v", commitIDsOf(cs), err)
	}
}

func TestCommitIndex_concurrentHitsListOnce(t *testing.T) {
	var listings atomic.Int32
	ix := newCommitIndexWithLister(func(context.Context) ([]vers.CommitInfo, error) {
		listings.Add(1)
		return commitsNamed("a", "b", "c"), nil
	}, time.Hour)
	var wg sync.WaitGroup
	errs := make(chan error, 90)
	for i := 0; i < 90; i++ {
		wg.Add(1)
		go func(id string) {
			defer wg.Done()
			if _, found, err := ix.Get(context.Background(), id); err != nil || !found {
				errs <- fmt.Errorf("Get(%s): found=%v err=%v", id, found, err)
			}
		}([]string{"a", "b", "c"}[i%3])
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := listings.Load(); n != 1 {
		t.Fatalf("listed %d times, want 1", n)
	}
}

// Misses that began while the same listing ran coalesce onto one new
// listing: if each started its own, the fake would block the extra listing
// and the Gets would never return.
func TestCommitIndex_concurrentMissesShareNewListing(t *testing.T) {
	ix, f := newFakeIndex()
	ctx := context.Background()
	warm := goGet(ctx, ix, "a")
	first := f.next(t)
	x, y := goGet(ctx, ix, "x"), goGet(ctx, ix, "y")
	waitForWaiters(t, ix, 3)
	first.answer("a")
	awaitGet(t, warm)

	f.next(t).answer("a", "x", "y")
	for _, ch := range []<-chan getResult{x, y} {
		if r := awaitGet(t, ch); r.err != nil || !r.found {
			t.Fatalf("Get = %+v", r)
		}
	}
}
