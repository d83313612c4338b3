package sandbox

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

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
	for range b.N {
		if code, err := m.Exec(ctx, "rt", spec, nil, nil, nil); err != nil || code != 0 {
			b.Fatalf("exec: %d %v", code, err)
		}
	}
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
			for i := range b.N {
				id := fmt.Sprintf("fc%d", i)
				if err := m.StartVM(ctx, id, stack, c.lim); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := m.DeleteVM(id); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
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
			for i := range b.N {
				b.StopTimer()
				id := fmt.Sprintf("c%d", i)
				if err := m.StartVM(ctx, id, []string{m.BaseLayer()}, c.lim); err != nil {
					b.Fatal(err)
				}
				mustSucceed(b, m, id, "head -c 100000000 /dev/urandom > /data")
				b.StartTimer()
				stack, err := m.Commit(ctx, id, false)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := m.DeleteVM(id); err != nil {
					b.Fatal(err)
				}
				if err := m.DeleteLayers(stack[len(stack)-1]); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}
