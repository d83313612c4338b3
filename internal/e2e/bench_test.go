package e2e

// Provider-level benchmarks: the terraform CLI driving the built provider
// against the in-process versd, as users run it. They report what the
// issues ask to measure (API requests per object, VMs booted, layers
// executed, MB/s over SFTP); nothing here asserts on time. Run them with
//
//	go test -run '^$' -bench . -benchtime 1x ./internal/e2e/
//
// (scripts/bench.sh does, and prints a table). Each benchmark sets up and
// tears down its own objects, so a larger -benchtime only repeats the timed
// part.

import (
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vers-sh/terraform-provider-vers/internal/tfharness"
)

// providerHCL is the terraform block every benchmark configuration starts with.
const providerHCL = `terraform {
  required_providers {
    vers = { source = "vers-sh/vers" }
  }
}

provider "vers" {}
`

// destroyB tears a configuration down; it reports failure without stopping,
// so it can run deferred after b.Fatal.
func destroyB(b *testing.B, dir string, extra ...string) {
	b.Helper()
	args := append([]string{"destroy", "-auto-approve", "-input=false", "-no-color"}, extra...)
	if out, err := tfTry(dir, args...); err != nil {
		b.Errorf("terraform destroy in %s failed: %v\n%s", dir, err, out)
	}
}

// requestsSinceReset sums versd's per-route request counters.
func requestsSinceReset() int {
	n := 0
	for _, c := range server.Stats().Requests {
		n += c
	}
	return n
}

// routeSummary lists versd's request counters, busiest first, for b.Logf.
func routeSummary() string {
	counts := server.Stats().Requests
	routes := make([]string, 0, len(counts))
	for route := range counts {
		routes = append(routes, route)
	}
	sort.Slice(routes, func(i, j int) bool {
		if counts[routes[i]] != counts[routes[j]] {
			return counts[routes[i]] > counts[routes[j]]
		}
		return routes[i] < routes[j]
	})
	parts := make([]string, len(routes))
	for i, route := range routes {
		parts[i] = fmt.Sprintf("%s=%d", route, counts[route])
	}
	return strings.Join(parts, " ")
}

// uniqueName keeps repositories and file contents of repeated benchmark runs
// apart, so a second run never meets the first run's objects or cache.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
}

// BenchmarkPlan200Tags50VMs measures a refreshing plan over a realistic
// estate: one build, one repository, 200 tags and 50 VMs booted from those
// tags. The setup apply (at -parallelism=10, issue 8's load check) is timed
// once and reported as apply-s; each iteration is one `terraform plan
// -refresh=true` and reports versd requests per managed object.
func BenchmarkPlan200Tags50VMs(b *testing.B) {
	const tags, vms = 200, 50
	const objects = 1 + 1 + tags + vms
	dir := b.TempDir()
	repo := uniqueName("bench-plan")
	tfharness.WriteFiles(b, dir, map[string]string{
		"ctx/Dockerfile": "FROM scratch\nRUN echo " + repo + " > /built-by\n",
		"main.tf": providerHCL + fmt.Sprintf(`
resource "vers_build" "base" {
  context   = "${path.module}/ctx"
  vm_config = { vcpu_count = 1, mem_size_mib = 512, fs_size_mib = 1024 }
}

resource "vers_repo" "r" { name = %q }

resource "vers_tag" "t" {
  count     = %d
  repo      = vers_repo.r.name
  name      = "t${count.index}"
  commit_id = vers_build.base.commit_id
}

resource "vers_vm" "vm" {
  count = %d
  ref   = "${vers_repo.r.name}:${vers_tag.t[count.index].name}"
}
`, repo, tags, vms),
	})
	defer destroyB(b, dir, "-parallelism=10")

	server.ResetStats()
	start := time.Now()
	tf(b, dir, "apply", "-auto-approve", "-input=false", "-no-color", "-parallelism=10")
	applySeconds := time.Since(start).Seconds()
	if booted := server.Stats().VMsCreated; booted < vms {
		b.Fatalf("the setup apply created %d VMs on versd, want at least %d", booted, vms)
	}
	applyRequests := requestsSinceReset()
	b.Logf("setup apply's versd requests: %s", routeSummary())

	b.ResetTimer()
	total := 0
	for i := 0; i < b.N; i++ {
		server.ResetStats()
		out := tf(b, dir, "plan", "-refresh=true", "-input=false", "-no-color")
		total += requestsSinceReset()
		if !strings.Contains(out, "No changes.") {
			b.Fatalf("a plan right after apply must show no changes:\n%s", out)
		}
	}
	b.StopTimer()
	b.Logf("last plan's versd requests: %s", routeSummary())
	b.ReportMetric(float64(total)/float64(b.N)/objects, "requests/object")
	b.ReportMetric(float64(total)/float64(b.N), "requests/plan")
	b.ReportMetric(applySeconds, "setup-apply-s")
	b.ReportMetric(float64(applyRequests), "setup-apply-requests")
}

// layeredConfig writes a five-layer build (three COPYs, two RUNs) into dir:
// a Dockerfile whose last COPY alone reads last.txt, a main.tf and outputs
// for the commit and each layer's cached flag and duration. nonce makes the
// contents, and so every cache key, unique to one benchmark run.
func layeredConfig(b *testing.B, dir, nonce string) {
	b.Helper()
	tfharness.WriteFiles(b, dir, map[string]string{
		"ctx/Dockerfile": `FROM scratch
WORKDIR /app
COPY base.txt ./
RUN cp base.txt base.copy && echo first-run > ran-1
COPY lib/ ./lib/
RUN ls lib > lib.list
COPY last.txt ./
`,
		"ctx/base.txt":   "base " + nonce + "\n",
		"ctx/lib/a.sh":   "echo a\n",
		"ctx/lib/b.sh":   "echo b\n",
		"ctx/lib/c.conf": "key=value\n",
		"ctx/last.txt":   "last 0\n",
		"main.tf": providerHCL + `
resource "vers_build" "app" {
  context   = "${path.module}/ctx"
  vm_config = { vcpu_count = 1, mem_size_mib = 512, fs_size_mib = 1024 }
}

output "commit_id" { value = vers_build.app.commit_id }
output "cached"    { value = [for l in vers_build.app.layers : l.cached] }
output "durations" { value = [for l in vers_build.app.layers : l.duration] }
`,
	})
}

// cachedFlags reads the `cached` output: one bool per layer.
func cachedFlags(b *testing.B, out map[string]any) (cached, executed int) {
	b.Helper()
	list, ok := out["cached"].([]any)
	if !ok || len(list) == 0 {
		b.Fatalf("output cached is %v, want a list of bools", out["cached"])
	}
	for _, v := range list {
		if v == true {
			cached++
		} else {
			executed++
		}
	}
	return cached, executed
}

// copyTree copies src to dst with cp -r (config plus context, no state).
func copyTree(b *testing.B, src, dst string) {
	b.Helper()
	if out, err := execCombined("cp", "-r", src, dst); err != nil {
		b.Fatalf("copy %s: %v\n%s", src, err, out)
	}
}

// BenchmarkBuildFullyCached is a new Terraform Cloud run of an unchanged
// build: a fresh working directory with empty state, whose every layer is
// already in Vers' cache. Each iteration reports the VMs it booted (want 0)
// and the versd requests it made; a different commit_id fails the run.
func BenchmarkBuildFullyCached(b *testing.B) {
	template := filepath.Join(b.TempDir(), "template")
	layeredConfig(b, template, uniqueName("cached"))
	first := filepath.Join(b.TempDir(), "first")
	copyTree(b, template, first)
	tf(b, first, "apply", "-auto-approve", "-input=false", "-no-color")
	want := outputs(b, first)["commit_id"]

	var booted, requests int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		runner := filepath.Join(b.TempDir(), "runner")
		copyTree(b, template, runner)
		server.ResetStats()
		b.StartTimer()
		tf(b, runner, "apply", "-auto-approve", "-input=false", "-no-color")
		b.StopTimer()
		st := server.Stats()
		booted += st.VMsCreated
		requests += requestsSinceReset()
		out := outputs(b, runner)
		if out["commit_id"] != want {
			b.Fatalf("a fully cached build on a fresh runner returned commit %v, the first build %v", out["commit_id"], want)
		}
		if _, executed := cachedFlags(b, out); executed != 0 {
			b.Logf("iteration %d executed %d layers (want 0)", i, executed)
		}
	}
	b.Logf("last apply's versd requests: %s", routeSummary())
	b.ReportMetric(float64(booted)/float64(b.N), "vms_booted/op")
	b.ReportMetric(float64(requests)/float64(b.N), "api_requests/op")
}

// BenchmarkBuildOneLayerChange edits the file only the last COPY reads and
// re-applies: four layers should come from the cache and one should run,
// on the one builder VM that boots.
func BenchmarkBuildOneLayerChange(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "work")
	layeredConfig(b, dir, uniqueName("onelayer"))
	tf(b, dir, "apply", "-auto-approve", "-input=false", "-no-color")

	var cached, executed, booted int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		tfharness.WriteFiles(b, dir, map[string]string{"ctx/last.txt": fmt.Sprintf("last %d %s\n", i+1, uniqueName("edit"))})
		server.ResetStats()
		b.StartTimer()
		tf(b, dir, "apply", "-auto-approve", "-input=false", "-no-color")
		b.StopTimer()
		booted += server.Stats().VMsCreated
		c, e := cachedFlags(b, outputs(b, dir))
		cached += c
		executed += e
	}
	b.ReportMetric(float64(executed)/float64(b.N), "layers_executed/op")
	b.ReportMetric(float64(cached)/float64(b.N), "layers_cached/op")
	b.ReportMetric(float64(booted)/float64(b.N), "vms_booted/op")
}

// BenchmarkCopy500MB copies 500 MB of random (incompressible) bytes in 50
// files into a FROM scratch build: one COPY layer, a cache miss every
// iteration (a nonce file changes). MB/s is over the whole apply (plan-time
// hashing, builder boot, SFTP, sync, commit); copy-layer-MB/s is over the
// COPY layer's own duration (builder boot, SFTP upload, sync, commit).
func BenchmarkCopy500MB(b *testing.B) {
	const files, fileBytes = 50, 10_000_000
	ctxDir := filepath.Join(b.TempDir(), "ctx")
	buf := make([]byte, fileBytes)
	for i := 0; i < files; i++ {
		if _, err := rand.Read(buf); err != nil {
			b.Fatal(err)
		}
		p := filepath.Join(ctxDir, "data", fmt.Sprintf("part-%02d.bin", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, buf, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	tfharness.WriteFiles(b, ctxDir, map[string]string{"Dockerfile": "FROM scratch\nCOPY data/ /data/\n"})
	// 500 MB of payload on busybox's few MB: 1 GiB is the honest disk size.
	mainTF := providerHCL + fmt.Sprintf(`
resource "vers_build" "big" {
  context   = %q
  vm_config = { vcpu_count = 1, mem_size_mib = 512, fs_size_mib = 1024 }
  # The benchmark's 500 MB layers are not worth keeping after it.
  delete_commits_on_destroy = true
}

output "durations" { value = [for l in vers_build.big.layers : l.duration] }
`, ctxDir)

	b.SetBytes(files * fileBytes)
	var layerTime time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := filepath.Join(b.TempDir(), "run")
		tfharness.WriteFiles(b, dir, map[string]string{"main.tf": mainTF})
		tfharness.WriteFiles(b, ctxDir, map[string]string{"data/nonce.txt": uniqueName("copy")})
		b.StartTimer()
		tf(b, dir, "apply", "-auto-approve", "-input=false", "-no-color")
		b.StopTimer()
		durations, _ := outputs(b, dir)["durations"].([]any)
		if len(durations) != 1 {
			b.Fatalf("want one COPY layer, got durations %v", durations)
		}
		d, err := time.ParseDuration(fmt.Sprint(durations[0]))
		if err != nil || d <= 0 {
			b.Fatalf("the COPY layer's duration %v is not a positive duration (was it cached?): %v", durations[0], err)
		}
		layerTime += d
		destroyB(b, dir)
	}
	b.ReportMetric(float64(files*fileBytes)*float64(b.N)/1e6/layerTime.Seconds(), "copy-layer-MB/s")
}

// execCombined runs a command and returns its combined output.
func execCombined(name string, args ...string) ([]byte, error) {
	return exec.Command(name, args...).CombinedOutput()
}
