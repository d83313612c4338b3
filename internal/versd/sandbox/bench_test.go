package sandbox

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// p50 collects the timed part of each iteration and reports the median next
// to the mean (ns/op): issue 11's targets are medians.
type p50 struct {
	b     *testing.B
	start time.Time
	took  []time.Duration
}

func (p *p50) begin() { p.b.StartTimer(); p.start = time.Now() }
func (p *p50) end()   { p.took = append(p.took, time.Since(p.start)); p.b.StopTimer() }

func (p *p50) report() {
	if len(p.took) == 0 {
		return
	}
	slices.Sort(p.took)
	p.b.ReportMetric(float64(p.took[len(p.took)/2].Microseconds())/1000, "p50-ms")
}

func TestParallelVMsExecAndCommit(t *testing.T) {
	m := newTestManager(t)
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("par%d", i)
			ctx := context.Background()
			if err := m.StartVM(ctx, id, []string{m.BaseLayer()}); err != nil {
				errs <- err
				return
			}
			if code, err := m.Exec(ctx, id, ExecSpec{Command: []string{"sh", "-c", fmt.Sprintf("echo %d > /id", i)}}, nil, nil, nil); err != nil || code != 0 {
				errs <- fmt.Errorf("%s: exec exit %d: %v", id, code, err)
				return
			}
			if _, err := m.Commit(ctx, id, false); err != nil {
				errs <- fmt.Errorf("%s: commit: %w", id, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i := range 10 {
		id := fmt.Sprintf("par%d", i)
		if got := mustSucceed(t, m, id, "cat /id"); got != fmt.Sprintf("%d\n", i) {
			t.Errorf("%s has /id = %q", id, got)
		}
	}
}

// BenchmarkStartExecCommit measures one builder step: a VM from a layer
// stack, one command, a commit, and deleting the VM.
func BenchmarkStartExecCommit(b *testing.B) {
	m := newTestManager(b)
	ctx := context.Background()
	spec := ExecSpec{Command: []string{"sh", "-c", "echo step > /step"}}
	b.ResetTimer()
	for i := range b.N {
		id := fmt.Sprintf("bench%d", i)
		if err := m.StartVM(ctx, id, []string{m.BaseLayer()}); err != nil {
			b.Fatal(err)
		}
		if code, err := m.Exec(ctx, id, spec, nil, nil, nil); err != nil || code != 0 {
			b.Fatalf("exec: %d %v", code, err)
		}
		stack, err := m.Commit(ctx, id, false)
		if err != nil {
			b.Fatal(err)
		}
		if err := m.DeleteVM(id); err != nil {
			b.Fatal(err)
		}
		if err := m.DeleteLayers(stack[len(stack)-1]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStartVM(b *testing.B) {
	m := newTestManager(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		id := fmt.Sprintf("start%d", i)
		if err := m.StartVM(ctx, id, []string{m.BaseLayer()}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := m.DeleteVM(id); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

func BenchmarkExecRoundTrip(b *testing.B) {
	m := newTestManager(b)
	startVM(b, m, "rt")
	ctx := context.Background()
	spec := ExecSpec{Command: []string{"true"}}
	b.ResetTimer()
	b.StopTimer()
	p := &p50{b: b}
	for range b.N {
		p.begin()
		if code, err := m.Exec(ctx, "rt", spec, nil, nil, nil); err != nil || code != 0 {
			b.Fatalf("exec: %d %v", code, err)
		}
		p.end()
	}
	p.report()
}

// versdDefaults are the limits versd gives a VM whose vm_config is empty.
var versdDefaults = Limits{MemMiB: 512, VCPUs: 1, FsMiB: 1024}

// BenchmarkStartVMFromCommit starts a VM on a committed stack (base + one
// layer), as POST /vm/from_commit does, with and without versd's default
// limits (the disk image costs a mkfs and a loop mount).
func BenchmarkStartVMFromCommit(b *testing.B) {
	for _, c := range []struct {
		name string
		lim  Limits
	}{{"limits=none", Limits{}}, {"limits=versd-defaults", versdDefaults}} {
		b.Run(c.name, func(b *testing.B) {
			m := newTestManager(b)
			ctx := context.Background()
			startVM(b, m, "src")
			mustSucceed(b, m, "src", "echo layer > /layer")
			stack, err := m.Commit(ctx, "src", false)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			b.StopTimer()
			p := &p50{b: b}
			for i := range b.N {
				id := fmt.Sprintf("fc%d", i)
				p.begin()
				if err := m.StartVM(ctx, id, stack, c.lim); err != nil {
					b.Fatal(err)
				}
				p.end()
				if err := m.DeleteVM(id); err != nil {
					b.Fatal(err)
				}
			}
			p.report()
		})
	}
}

// BenchmarkCommit100MB commits a VM whose writable layer holds 100 MB of new
// data (the VM restarts on the new stack as part of the commit).
func BenchmarkCommit100MB(b *testing.B) {
	for _, c := range []struct {
		name string
		lim  Limits
	}{{"limits=none", Limits{}}, {"limits=versd-defaults", versdDefaults}} {
		b.Run(c.name, func(b *testing.B) {
			m := newTestManager(b)
			ctx := context.Background()
			b.StopTimer()
			p := &p50{b: b}
			for i := range b.N {
				id := fmt.Sprintf("c%d", i)
				if err := m.StartVM(ctx, id, []string{m.BaseLayer()}, c.lim); err != nil {
					b.Fatal(err)
				}
				mustSucceed(b, m, id, "head -c 100000000 /dev/urandom > /data")
				p.begin()
				stack, err := m.Commit(ctx, id, false)
				if err != nil {
					b.Fatal(err)
				}
				p.end()
				if got := mustSucceed(b, m, id, "wc -c < /data"); got != "100000000\n" {
					b.Fatalf("after the commit /data has %q bytes", got)
				}
				if err := m.DeleteVM(id); err != nil {
					b.Fatal(err)
				}
				if err := m.DeleteLayers(stack[len(stack)-1]); err != nil {
					b.Fatal(err)
				}
			}
			p.report()
		})
	}
}
