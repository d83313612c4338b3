package buildcontext

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// hashSlots bounds how many files the whole process hashes at once. Every
// Hash/StepHash call, from any goroutine, takes a slot per file, so two plans
// running side by side share the machine instead of oversubscribing it. The
// bound is GOMAXPROCS, read on every acquire so a later change applies.
var hashSlots slotPool

type slotPool struct {
	mu      sync.Mutex
	inUse   int
	waiters []chan struct{}
}

// acquire takes a slot, or returns ctx's error if ctx ends first.
func (p *slotPool) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	if p.inUse < runtime.GOMAXPROCS(0) && len(p.waiters) == 0 {
		p.inUse++
		p.mu.Unlock()
		return nil
	}
	ready := make(chan struct{})
	p.waiters = append(p.waiters, ready)
	p.mu.Unlock()

	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		p.mu.Lock()
		for i, w := range p.waiters {
			if w == ready {
				p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
				p.mu.Unlock()
				return ctx.Err()
			}
		}
		p.mu.Unlock()
		// The slot was handed over just as ctx ended: pass it on.
		p.release()
		return ctx.Err()
	}
}

// release returns a slot, handing it straight to the oldest waiter.
func (p *slotPool) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.waiters) > 0 && p.inUse <= runtime.GOMAXPROCS(0) {
		next := p.waiters[0]
		p.waiters = p.waiters[1:]
		close(next)
		return
	}
	p.inUse--
}

// bufferSize is the read buffer for file contents: big enough that most
// source files are read with one system call, small enough that GOMAXPROCS
// of them cost nothing.
const bufferSize = 256 << 10

var buffers = sync.Pool{New: func() any {
	b := make([]byte, bufferSize)
	return &b
}}

// hashFiles computes the content digest of entries[i] for every i in todo,
// in parallel, and returns them in todo's order.
func hashFiles(ctx context.Context, entries []File, todo []int) ([]fileDigest, error) {
	out := make([]fileDigest, len(todo))
	if len(todo) == 0 {
		return out, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	workers := min(runtime.GOMAXPROCS(0), len(todo))
	var (
		next     atomic.Int64
		firstErr error
		errOnce  sync.Once
		wg       sync.WaitGroup
	)
	take := func() (int, bool) {
		k := int(next.Add(1) - 1)
		return k, k < len(todo)
	}
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bp := buffers.Get().(*[]byte)
			defer buffers.Put(bp)
			for {
				k, ok := take()
				if !ok {
					return
				}
				if err := hashSlots.acquire(ctx); err != nil {
					fail(err)
					return
				}
				f := &entries[todo[k]]
				sum, n, err := hashFileContent(ctx, f.Abs, *bp)
				hashSlots.release()
				if err != nil {
					fail(fmt.Errorf("hashing %s: %w", f.Rel, err))
					return
				}
				out[k] = fileDigest{sum: sum, size: n}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}
