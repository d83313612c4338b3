package reliability

import (
	"fmt"
	"testing"
	"time"

	"github.com/vers-sh/terraform-provider-vers/internal/versd"
)

// fleetConfig is one small build, a repo, tags tags on the build and vms VMs
// started from repo:t0. The build needs a builder VM, a COPY over SFTP and a
// RUN over the exec stream, so every kind of traffic meets the faults.
func fleetConfig(repo string, tags, vms int) string {
	return providerHeader + fmt.Sprintf(`
provider "vers" {}

resource "vers_build" "app" {
  context            = "${path.module}/app"
  dockerfile_content = <<-EOT
    FROM scratch
    COPY hello.txt /srv/hello.txt
    RUN cat /srv/hello.txt > /srv/built.txt && echo built >> /srv/built.txt
  EOT
  vm_config = { vcpu_count = 1, mem_size_mib = 256, fs_size_mib = 512 }
}

resource "vers_repo" "app" {
  name = %q
}

resource "vers_tag" "t" {
  count     = %d
  repo      = vers_repo.app.name
  name      = "t${count.index}"
  commit_id = vers_build.app.commit_id
}

resource "vers_vm" "v" {
  count  = %d
  ref    = "${vers_repo.app.name}:${vers_tag.t[0].name}"
  labels = { index = tostring(count.index) }
}

output "commit_id" { value = vers_build.app.commit_id }
`, repo, tags, vms)
}

func fleetDir(t *testing.T, repo string, tags, vms int) string {
	t.Helper()
	return writeFiles(t, t.TempDir(), map[string]string{
		"main.tf":       fleetConfig(repo, tags, vms),
		"app/hello.txt": "hello from the build context\n",
	})
}

// TestApplyConvergesUnderFaults applies the fleet against a versd that
// answers 10% of API requests with a fault (5xx, 429 + Retry-After, a reset
// before or after the server acted, a cut exec stream), then checks that the
// second plan is empty and versd holds exactly what the config declares: a
// lost create response must be recognised, not repeated.
func TestApplyConvergesUnderFaults(t *testing.T) {
	// Three seeds: each draws a different sequence of fault kinds.
	for _, seed := range []int64{8, 9, 10} {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { applyUnderFaults(t, seed) })
	}
}

func applyUnderFaults(t *testing.T, seed int64) {
	const tags, vms = 20, 5
	s := startVersd(t, versd.FaultOptions{
		Seed: seed, Rate: 0.10, RetryAfter: time.Second,
		Kinds: []string{versd.Fault500, versd.Fault502, versd.Fault503, versd.Fault429,
			versd.FaultResetBefore, versd.FaultResetAfter, versd.FaultCutStream},
	})
	ep := endpointOf(s)
	dir := fleetDir(t, "flaky", tags, vms)

	start := time.Now()
	tf(t, ep, dir, "apply", "-auto-approve", "-input=false")
	t.Logf("apply under 10%% faults: %s, %d faults injected", time.Since(start).Round(time.Millisecond), s.Stats().FaultsInjected)

	// The plan reads everything back through the same faulty server.
	if out, err := tfTry(ep, dir, nil, "plan", "-detailed-exitcode", "-input=false"); err != nil {
		t.Fatalf("the second plan must be empty (exit 0), got %v:\n%s", err, out)
	}
	stats := s.Stats()
	if stats.FaultsInjected == 0 {
		t.Fatal("versd injected no faults: the test proved nothing")
	}
	t.Logf("faults injected over apply + plan: %d of %d requests", stats.FaultsInjected, totalRequests(stats))

	c := client(t, ep, 8)
	got := repoTags(t, c, "flaky")
	if len(got) != tags {
		t.Fatalf("versd holds %d tags in flaky, want exactly %d: %v", len(got), tags, got)
	}
	st := stateResources(t, dir)
	commitID := st["vers_build"][0]["commit_id"].(string)
	for name, id := range got {
		if id != commitID {
			t.Errorf("tag %s points at %s, want the build's commit %s", name, id, commitID)
		}
	}
	// No duplicate VMs from retried POSTs, and no builder VM left behind.
	listed := countVMs(t, c)
	if len(listed) != vms {
		t.Fatalf("versd runs %d VMs, want exactly the %d declared (duplicates or a leaked builder?)", len(listed), vms)
	}
	inState := map[string]bool{}
	for _, vm := range st["vers_vm"] {
		inState[vm["id"].(string)] = true
	}
	for _, vm := range listed {
		if !inState[vm.VMID] {
			t.Errorf("VM %s runs on versd but is not in the state", vm.VMID)
		}
	}
	// The RUN really ran on the COPY'd file, despite cut streams.
	out, err := c.ReadFile(t.Context(), listed[0].VMID, "/srv/built.txt")
	if err != nil || string(out) != "hello from the build context\nbuilt\n" {
		t.Fatalf("/srv/built.txt in a fleet VM = %q, %v", out, err)
	}
}

func totalRequests(s versd.Stats) int {
	n := 0
	for _, v := range s.Requests {
		n += v
	}
	return n
}
