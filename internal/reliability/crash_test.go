package reliability

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// TestCrashRecovery kills versd with SIGKILL in the middle of an apply that
// creates tags and VMs, restarts it on the same data directory and ports,
// and re-applies. The re-apply must converge, everything the first apply was
// told about must still exist, and versd must run exactly the VMs the state
// records: none leaked by a create whose answer died with the server, no
// builder VM left over.
func TestCrashRecovery(t *testing.T) {
	p := newVersdProcess(t)
	p.start(t)
	dir := fleetDir(t, "crashy", 3, 2)
	tf(t, p.ep, dir, "apply", "-auto-approve", "-input=false")

	// What the first apply acknowledged, plus a file written into a VM.
	c := client(t, p.ep, 8)
	before := stateResources(t, dir)
	commitID := before["vers_build"][0]["commit_id"].(string)
	ackedTags := repoTags(t, c, "crashy")
	ackedVM := before["vers_vm"][0]["id"].(string)
	ctx := context.Background()
	if err := c.WriteFile(ctx, ackedVM, "/root/acknowledged.txt", []byte("written before the crash\n"), vers.WriteFileOptions{}); err != nil {
		t.Fatal(err)
	}

	// Grow the fleet, and kill versd once the VM creates are under way.
	writeFiles(t, dir, map[string]string{"main.tf": fleetConfig("crashy", 15, 6)})
	apply := startTerraform(t, p.ep, dir, "apply", "-auto-approve", "-input=false")
	apply.waitFor(t, "vers_vm.v[2]: Creating...", 60*time.Second)
	time.Sleep(150 * time.Millisecond) // let some creates reach the server
	p.stop(t, syscall.SIGKILL)
	t.Log("versd killed mid-apply")
	time.Sleep(time.Second)
	p.start(t)
	t.Log("versd restarted on the same data directory")

	// The interrupted apply may finish through its retries or fail; either
	// way the next apply must converge.
	select {
	case err := <-apply.done:
		t.Logf("interrupted apply ended: %v", err)
	case <-time.After(3 * time.Minute):
		t.Fatalf("the interrupted apply did not end:\n%s", apply.out)
	}
	tf(t, p.ep, dir, "apply", "-auto-approve", "-input=false")
	if out, err := tfTry(p.ep, dir, nil, "plan", "-detailed-exitcode", "-input=false"); err != nil {
		t.Fatalf("after recovery the plan must be empty, got %v:\n%s", err, out)
	}

	// Nothing acknowledged is lost.
	after := repoTags(t, c, "crashy")
	for name, id := range ackedTags {
		if after[name] != id {
			t.Errorf("tag %s pointed at %s before the crash, now %q", name, id, after[name])
		}
	}
	if len(after) != 15 {
		t.Errorf("versd holds %d tags, want 15", len(after))
	}
	commits, err := c.ListAllCommits(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, cm := range commits {
		found = found || cm.CommitID == commitID
	}
	if !found {
		t.Errorf("the build's commit %s is gone after the crash", commitID)
	}
	got, err := c.ReadFile(ctx, ackedVM, "/root/acknowledged.txt")
	if err != nil || string(got) != "written before the crash\n" {
		t.Errorf("file written into VM %s before the crash: %q, %v", ackedVM, got, err)
	}

	// No leaked VMs: versd runs exactly the VMs in the state.
	st := stateResources(t, dir)
	inState := map[string]bool{}
	for _, vm := range st["vers_vm"] {
		inState[vm["id"].(string)] = true
	}
	listed := countVMs(t, c)
	for _, vm := range listed {
		if !inState[vm.VMID] {
			t.Errorf("VM %s runs on versd but no resource owns it (leaked by the crash)", vm.VMID)
		}
	}
	if len(listed) != 6 || len(inState) != 6 {
		t.Errorf("versd runs %d VMs and the state has %d, want 6 each", len(listed), len(inState))
	}
	if _, err := os.Stat(filepath.Join(p.dataDir, "versd.db")); err != nil {
		t.Fatal(err)
	}
}
