package versd

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// These benchmarks measure versd through the real client over loopback, the
// way the provider sees it. Targets (issue 3): VM from commit p50 ≤ 100 ms,
// exec round trip p50 ≤ 20 ms, commit of a 100 MB diff ≤ 2 s. They report
// p50/p90 as metrics; nothing asserts a time.

func benchClient(b *testing.B) (*Server, *vers.Client) {
	b.Helper()
	s := startTest(b, "", func(o *Options) { o.Logf = func(string, ...any) {} })
	c, err := vers.New(vers.Config{BaseURL: s.URL, APIKey: s.APIKey, MaxRetries: 2})
	if err != nil {
		b.Fatal(err)
	}
	return s, c
}

func benchVM(b *testing.B, c *vers.Client) string {
	b.Helper()
	one := int64(1)
	vm, err := c.CreateVMNewRoot(context.Background(), vers.NewRootRequest{VMConfig: vers.VMConfig{VcpuCount: &one}}, true)
	if err != nil {
		b.Fatal(err)
	}
	return vm.VMID
}

// percentiles reports p50 and p90 in milliseconds.
func percentiles(b *testing.B, samples []time.Duration) {
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	at := func(q float64) float64 {
		return float64(samples[int(q*float64(len(samples)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.5), "p50-ms")
	b.ReportMetric(at(0.9), "p90-ms")
}

func BenchmarkVMFromCommit(b *testing.B) {
	_, c := benchClient(b)
	ctx := context.Background()
	src := benchVM(b, c)
	commit, err := c.CommitVM(ctx, src, vers.CommitRequest{}, vers.CommitOptions{})
	if err != nil {
		b.Fatal(err)
	}
	samples := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		vm, err := c.CreateVMFromCommit(ctx, vers.FromCommitRequest{CommitID: commit.CommitID})
		if err != nil {
			b.Fatal(err)
		}
		if err := c.WaitForVMRunning(ctx, vm.VMID, 5*time.Millisecond); err != nil {
			b.Fatal(err)
		}
		samples = append(samples, time.Since(start))
		b.StopTimer()
		if _, err := c.DeleteVM(ctx, vm.VMID); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	percentiles(b, samples)
}

func BenchmarkExecRoundTrip(b *testing.B) {
	_, c := benchClient(b)
	ctx := context.Background()
	vm := benchVM(b, c)
	samples := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		out, err := c.Exec(ctx, vm, vers.ExecRequest{Command: []string{"true"}})
		if err != nil || out.ExitCode != 0 {
			b.Fatalf("exec: %v %+v", err, out)
		}
		samples = append(samples, time.Since(start))
	}
	percentiles(b, samples)
}

func BenchmarkCommit100MBDiff(b *testing.B) {
	_, c := benchClient(b)
	ctx := context.Background()
	vm := benchVM(b, c)
	samples := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		// 100 files of 1 MiB of incompressible data, new in each iteration.
		script := fmt.Sprintf("mkdir -p /data/%d && for n in $(seq 1 100); do head -c 1048576 /dev/urandom > /data/%d/$n; done", i, i)
		if out, err := c.Exec(ctx, vm, vers.ExecRequest{Command: []string{"sh", "-c", script}, TimeoutSecs: 120}); err != nil || out.ExitCode != 0 {
			b.Fatalf("writing the diff: %v %+v", err, out)
		}
		b.StartTimer()
		start := time.Now()
		if _, err := c.CommitVM(ctx, vm, vers.CommitRequest{}, vers.CommitOptions{}); err != nil {
			b.Fatal(err)
		}
		samples = append(samples, time.Since(start))
	}
	b.SetBytes(100 << 20)
	percentiles(b, samples)
}

// BenchmarkConcurrentVMs runs 10 VMs doing exec and commit at once.
func BenchmarkConcurrentVMs(b *testing.B) {
	_, c := benchClient(b)
	ctx := context.Background()
	const n = 10
	vms := make([]string, n)
	for i := range vms {
		vms[i] = benchVM(b, c)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for _, vm := range vms {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := c.Exec(ctx, vm, vers.ExecRequest{Command: []string{"sh", "-c", "echo hi > /x"}}); err != nil {
					errs <- err
					return
				}
				if _, err := c.CommitVM(ctx, vm, vers.CommitRequest{}, vers.CommitOptions{}); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n), "vms")
}
