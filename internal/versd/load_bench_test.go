package versd

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkExecsAndUploadsUnderLoad is the load case of issue 12: 500
// execs that each print 1 MiB (8 at a time, over 4 VMs) while 16 uploads of
// 47 MiB (63 MiB bodies) run at once. It reports the peak RSS growth of the process (server
// included) and the slowest /health answer seen meanwhile.
//
//	go test ./internal/versd -run '^$' -bench ExecsAndUploadsUnderLoad -benchtime=1x
func BenchmarkExecsAndUploadsUnderLoad(b *testing.B) {
	s := startTest(b, "", func(o *Options) { o.Logf = func(string, ...any) {} })
	c := newClient(b, s)
	vms := []string{c.newRoot(), c.newRoot(), c.newRoot(), c.newRoot()}
	for range b.N {
		base := rssBytes(b)
		var peakRSS, worstHealth atomic.Int64
		stop := make(chan struct{})
		var probes sync.WaitGroup
		probes.Add(1)
		go func() {
			defer probes.Done()
			hc := &http.Client{Timeout: 10 * time.Second}
			for {
				if d := rssBytes(b) - base; d > peakRSS.Load() {
					peakRSS.Store(d)
				}
				start := time.Now()
				resp, err := hc.Get(s.URL + "/health")
				if err != nil || resp.StatusCode != 200 {
					b.Errorf("/health under load: %v", err)
				} else {
					resp.Body.Close()
				}
				if d := int64(time.Since(start)); d > worstHealth.Load() {
					worstHealth.Store(d)
				}
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		}()
		var work sync.WaitGroup
		work.Add(1)
		go func() {
			defer work.Done()
			concurrentUploads(b, s, vms[0], 16, 47<<20)
		}()
		jobs := make(chan int)
		for w := range 8 {
			work.Add(1)
			go func() {
				defer work.Done()
				wc := newClient(b, s)
				for range jobs {
					wc.execOK(vms[w%len(vms)], "head -c 1048576 /dev/zero")
				}
			}()
		}
		for i := range 500 {
			jobs <- i
		}
		close(jobs)
		work.Wait()
		close(stop)
		probes.Wait()
		b.ReportMetric(float64(peakRSS.Load()>>20), "MiB-peak-RSS-growth")
		b.ReportMetric(float64(time.Duration(worstHealth.Load()).Milliseconds()), "ms-slowest-health")
		b.ReportMetric(float64(s.execs.retained()>>20), "MiB-exec-output-retained")
	}
}
