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
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// providerHCL is the terraform block every benchmark configuration starts with.
const providerHCL = `terraform {
  required_providers {
    vers = { source = "vers-sh/vers" }
  }
}

provider "vers" {}
`

// tfB runs terraform in dir and stops the benchmark with its output on error.
func tfB(b *testing.B, dir string, args ...string) string {
	b.Helper()
	out, err := tfTry(dir, args...)
	if err != nil {
		b.Fatalf("terraform %s failed: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// destroyB tears a configuration down; it reports failure without stopping,
// so it can run deferred after b.Fatal.
func destroyB(b *testing.B, dir string, extra ...string) {
	b.Helper()
	args := append([]string{"destroy", "-auto-approve", "-input=false", "-no-color"}, extra...)
	if out, err := tfTry(dir, args...); err != nil {
		b.Errorf("terraform destroy in %s failed: %v\n%s", dir, err, out)
	}
}

// outputsB reads `terraform output -json` into plain Go values.
func outputsB(b *testing.B, dir string) map[string]any {
	b.Helper()
	raw := tfB(b, dir, "output", "-json")
	var parsed map[string]struct {
		Value any `json:"value"`
	}
	if err := json.Unmarshal([]byte(raw), &parsed); err != nil {
		b.Fatalf("terraform output -json: %v\n%s", err, raw)
	}
	out := map[string]any{}
	for k, v := range parsed {
		out[k] = v.Value
	}
	return out
}

// writeFiles creates dir and the given files (path relative to dir → content).
func writeFiles(b *testing.B, dir string, files map[string]string) {
	b.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
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
	var parts []string
	for route, c := range server.Stats().Requests {
		parts = append(parts, fmt.Sprintf("%s=%d", route, c))
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
	writeFiles(b, dir, map[string]string{
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
	vmsBefore := server.Stats().VMsCreated
	start := time.Now()
	tfB(b, dir, "apply", "-auto-approve", "-input=false", "-no-color", "-parallelism=10")
	applySeconds := time.Since(start).Seconds()
	applyStats := server.Stats()
	if booted := applyStats.VMsCreated - vmsBefore; booted < vms {
		b.Fatalf("the setup apply created %d VMs on versd, want at least %d", booted, vms)
	}
	applyRequests := requestsSinceReset()

	b.ResetTimer()
	total := 0
	for i := 0; i < b.N; i++ {
		server.ResetStats()
		out := tfB(b, dir, "plan", "-refresh=true", "-input=false", "-no-color")
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
