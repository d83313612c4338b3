package reliability

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// BenchmarkVersdConcurrentVMs holds 50 VMs on one versd and, per iteration,
// has all 50 at once run a command through the exec API and commit. It
// reports the round's wall time (ns/op), exec and commit latencies, and
// throughput. Numbers, not assertions: see RELIABILITY.md.
func BenchmarkVersdConcurrentVMs(b *testing.B) {
	const vms = 50
	s := startVersd(b, noFaults)
	c := client(b, endpointOf(s), 3)
	ctx := context.Background()
	ids := make([]string, vms)
	bootStart := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, vms)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.CreateVMNewRoot(ctx, vers.NewRootRequest{}, true)
			if err != nil {
				errs <- err
				return
			}
			ids[i] = resp.VMID
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatalf("booting VMs: %v", err)
	}
	b.Logf("booting %d VMs concurrently took %s", vms, time.Since(bootStart).Round(time.Millisecond))

	var mu sync.Mutex
	var execTotal, commitTotal time.Duration
	var ops int
	for n := 0; b.Loop(); n++ {
		errs := make(chan error, vms)
		for _, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t0 := time.Now()
				r, err := c.Exec(ctx, id, vers.ExecRequest{Command: []string{"/bin/sh", "-c", fmt.Sprintf("echo round %d >> /root/log && wc -l /root/log", n)}})
				if err == nil && r.ExitCode != 0 {
					err = fmt.Errorf("exit %d: %s", r.ExitCode, r.Stderr)
				}
				t1 := time.Now()
				if err == nil {
					_, err = c.CommitVM(ctx, id, vers.CommitRequest{}, vers.CommitOptions{})
				}
				t2 := time.Now()
				if err != nil {
					errs <- fmt.Errorf("VM %s: %w", id, err)
					return
				}
				mu.Lock()
				execTotal += t1.Sub(t0)
				commitTotal += t2.Sub(t1)
				ops++
				mu.Unlock()
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if ops > 0 {
		b.ReportMetric(float64(execTotal.Microseconds())/float64(ops)/1000, "ms-exec")
		b.ReportMetric(float64(commitTotal.Microseconds())/float64(ops)/1000, "ms-commit")
		b.ReportMetric(float64(ops)/b.Elapsed().Seconds(), "exec+commit/s")
	}
	if listed, err := c.ListVMs(ctx); err != nil || len(listed) != vms {
		b.Fatalf("after the load versd lists %d VMs (%v), want %d", len(listed), err, vms)
	}
}
