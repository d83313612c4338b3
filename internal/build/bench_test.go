package build

// COPY and build benchmarks at added network latency: versd in-process,
// its API and SSH gateway each behind a latencyproxy adding RTT, the engine
// driving a real builder VM. Each op is one Execute of a build that misses
// the cache (a nonce file changes), so the timed part is exactly what a
// user's apply pays over the link. Run:
//
//	go test -run '^$' -bench BenchmarkCopyRTT -benchtime 1x ./internal/build/
//
// Sub-benchmark names are workload/rtt=…/transport; transport "tar" is the
// production path, "sftp" forces the per-file SFTP fallback (the previous
// implementation, kept for images without tar), so before and after run
// side by side. BENCH_COPY_SFTP=0 skips the sftp runs; BENCH_COPY_RTT
// (default "0,20ms") lists the RTTs.

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vers-sh/terraform-provider-vers/internal/latencyproxy"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
	"github.com/vers-sh/terraform-provider-vers/internal/versd"
)

// benchWorkload is one build to time.
type benchWorkload struct {
	name       string
	dockerfile string
	// populate writes the context (except the nonce) into dir.
	populate func(b *testing.B, dir string)
	payload  int64 // bytes the COPY sends, for MB/s
}

func writeRandom(b *testing.B, p string, size int) {
	b.Helper()
	buf := make([]byte, size)
	_, _ = rand.Read(buf)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		b.Fatal(err)
	}
}

// smallFiles writes n source-like files of 200 B to 4 KiB in 20 directories.
func smallFiles(b *testing.B, dir string, n int) int64 {
	b.Helper()
	var total int64
	for i := 0; i < n; i++ {
		size := 200 + (i*397)%3900
		writeRandom(b, filepath.Join(dir, fmt.Sprintf("pkg%02d", i%20), fmt.Sprintf("file%04d.go", i)), size)
		total += int64(size)
	}
	return total
}

var benchWorkloads = []benchWorkload{
	{
		name:       "2000files+50MB",
		dockerfile: "FROM scratch\nCOPY src/ /src/\n",
		populate: func(b *testing.B, dir string) {
			smallFiles(b, filepath.Join(dir, "src"), 2000)
			writeRandom(b, filepath.Join(dir, "src", "blob.bin"), 50_000_000)
		},
		payload: 50_000_000,
	},
	{
		name:       "500files+20MB+2RUN",
		dockerfile: "FROM scratch\nWORKDIR /app\nCOPY src/ ./\nRUN ls -R . > /tmp/listing\nRUN wc -c blob.bin > /tmp/size\n",
		populate: func(b *testing.B, dir string) {
			smallFiles(b, filepath.Join(dir, "src"), 500)
			writeRandom(b, filepath.Join(dir, "src", "blob.bin"), 20_000_000)
		},
		payload: 20_000_000,
	},
	{
		name:       "1x500MB",
		dockerfile: "FROM scratch\nCOPY src/ /data/\n",
		populate: func(b *testing.B, dir string) {
			writeRandom(b, filepath.Join(dir, "src", "big.bin"), 500_000_000)
		},
		payload: 500_000_000,
	},
}

// benchRTTs are the RTTs to measure at.
func benchRTTs(b *testing.B) []time.Duration {
	spec := os.Getenv("BENCH_COPY_RTT")
	if spec == "" {
		spec = "0,20ms"
	}
	var out []time.Duration
	for _, s := range strings.Split(spec, ",") {
		if s == "0" {
			out = append(out, 0)
			continue
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			b.Fatalf("BENCH_COPY_RTT: %v", err)
		}
		out = append(out, d)
	}
	return out
}

// farClient is a client whose API and SSH connections both cross a proxy
// adding rtt.
func farClient(b *testing.B, srv *versd.Server, rtt time.Duration) *vers.Client {
	b.Helper()
	api, err := latencyproxy.Start("127.0.0.1:0", strings.TrimPrefix(srv.URL, "http://"), rtt)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { api.Close() })
	gw, err := latencyproxy.Start("127.0.0.1:0", srv.SSHAddress, rtt)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { gw.Close() })
	pem, err := os.ReadFile(srv.CAFile)
	if err != nil {
		b.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c, err := vers.New(vers.Config{BaseURL: "http://" + api.Addr(), APIKey: srv.APIKey, VMDomain: srv.VMDomain,
		SSHAddress: gw.Addr(), SSHRootCAs: pool, MaxRetries: 2, UserAgent: "vers-bench"})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkCopyRTT reports, per op, build-s (the whole Execute), copy-s
// (the COPY layer: builder boot on the first miss, transfer, sync of the
// guest's page cache to disk, commit), run-s (the RUN layers: exec, sync,
// commit), copy-MB/s for the large payload over
// copy-s, send-MB/s over the transfer alone (the step's "copied" event;
// tar path only), and api-requests (versd's count for the build).
func BenchmarkCopyRTT(b *testing.B) {
	srv, err := versd.Start(context.Background(), versd.Options{DataDir: b.TempDir(), APIKey: "k"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	transports := []string{"tar", "sftp"}
	if os.Getenv("BENCH_COPY_SFTP") == "0" {
		transports = transports[:1]
	}
	for _, w := range benchWorkloads {
		dir := b.TempDir()
		w.populate(b, dir)
		for _, rtt := range benchRTTs(b) {
			client := farClient(b, srv, rtt)
			for _, transport := range transports {
				b.Run(fmt.Sprintf("%s/rtt=%v/%s", w.name, rtt, transport), func(b *testing.B) {
					if transport == "sftp" {
						old := tarProgram
						tarProgram = "vers-bench-no-tar"
						defer func() { tarProgram = old }()
					}
					var build, copyTime, runTime, sendTime time.Duration
					requests := 0
					var routes map[string]int
					for i := 0; i < b.N; i++ {
						b.StopTimer()
						if err := os.WriteFile(filepath.Join(dir, "src", "nonce"), []byte(fmt.Sprint(time.Now().UnixNano())), 0o644); err != nil {
							b.Fatal(err)
						}
						prep := prepareB(b, dir, w.dockerfile)
						srv.ResetStats()
						b.StartTimer()
						start := time.Now()
						progress := func(e Event) {
							if e.Status == "copied" {
								sendTime += e.Duration
							}
						}
						res, err := Execute(context.Background(), client, prep, Options{BuildID: "bench", Progress: progress})
						build += time.Since(start)
						b.StopTimer()
						if err != nil {
							b.Fatal(err)
						}
						for _, l := range res.Layers {
							if strings.HasPrefix(l.Instruction, "COPY") {
								copyTime += l.Duration
							}
							if strings.HasPrefix(l.Instruction, "RUN") {
								runTime += l.Duration
							}
						}
						routes = srv.Stats().Requests
						for _, n := range routes {
							requests += n
						}
					}
					b.ReportMetric(build.Seconds()/float64(b.N), "build-s")
					b.ReportMetric(copyTime.Seconds()/float64(b.N), "copy-s")
					if runTime > 0 {
						b.ReportMetric(runTime.Seconds()/float64(b.N), "run-s")
					}
					b.ReportMetric(float64(w.payload)*float64(b.N)/1e6/copyTime.Seconds(), "copy-MB/s")
					if sendTime > 0 { // the SFTP fallback does not report its transfer alone
						b.ReportMetric(float64(w.payload)*float64(b.N)/1e6/sendTime.Seconds(), "send-MB/s")
					}
					b.ReportMetric(float64(requests)/float64(b.N), "api-requests")
					b.Logf("versd requests of the last build: %s", formatRoutes(routes))
				})
			}
		}
	}
}

// prepareB is prepare for benchmarks.
func prepareB(b *testing.B, dir, dockerfileText string) *Prepared {
	b.Helper()
	one, mem, fsz := int64(1), int64(512), int64(2048)
	prep, err := Prepare(context.Background(), Spec{ContextDir: dir, DockerfileContent: []byte(dockerfileText),
		VMConfig: &vers.VMConfig{VcpuCount: &one, MemSizeMib: &mem, FsSizeMib: &fsz}})
	if err != nil {
		b.Fatal(err)
	}
	return prep
}

func formatRoutes(routes map[string]int) string {
	keys := make([]string, 0, len(routes))
	for k := range routes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, routes[k])
	}
	return strings.Join(parts, " ")
}
