package reliability

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the test reads versd's database while it is stopped

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// commitCrashRounds is 30 in `make test`; `make soak` raises it through
// VERS_SOAK_ROUNDS.
func commitCrashRounds(t *testing.T) int {
	if v := os.Getenv("VERS_SOAK_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("VERS_SOAK_ROUNDS=%q is not a positive number", v)
		}
		return n
	}
	return 30
}

// TestCommitCrashLoop is the attack of issue 12, widened to every operation
// that moves data on disk: each round writes a file in a VM with sync, then
// starts one operation — a commit (every other round), a branch, a VM from
// a commit, a new_root VM, a VM delete or a tag move — and SIGKILLs versd
// 5–45 ms later (random), checks SQLite integrity_check on the stopped
// database and restarts it. Every file acknowledged so far must still be in
// the VM; an acknowledged create must exist, an acknowledged delete must be
// gone, an acknowledged tag move must hold; no intent, staging directory,
// unreferenced layer or sandbox without a record may remain; and at the end
// no process outlives versd. Before the two-phase commit, files went
// missing in about 1 commit of 5.
func TestCommitCrashLoop(t *testing.T) {
	rounds := commitCrashRounds(t)
	p := newVersdProcess(t)
	p.start(t)
	ctx := context.Background()
	c := client(t, p.ep, 8)
	vm, err := c.CreateVMNewRoot(ctx, vers.NewRootRequest{}, true)
	if err != nil {
		t.Fatal(err)
	}
	vmID := vm.VMID
	if _, err := c.CreateRepository(ctx, vers.CreateRepositoryRequest{Name: "crash"}); err != nil {
		t.Fatal(err)
	}
	first, err := c.CommitVM(ctx, vmID, vers.CommitRequest{}, vers.CommitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateRepoTag(ctx, "crash", vers.CreateRepoTagRequest{TagName: "live", CommitID: first.CommitID}); err != nil {
		t.Fatal(err)
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 12))
	var acked []string // commits whose 201 arrived before the kill
	commits := []string{first.CommitID}
	var extra []string // VMs besides vmID that must exist
	var deleted []string
	tagAt := first.CommitID
	ops := map[string]int{}
	landed, inVM := 0, 0
	for round := range rounds {
		c := client(t, p.ep, 8)
		name := fmt.Sprintf("/root/round-%02d.txt", round)
		content := fmt.Sprintf("round %d", round)
		res, err := c.Exec(ctx, vmID, vers.ExecRequest{Command: []string{"sh", "-c", fmt.Sprintf("printf %%s %q > %s && sync", content, name)}})
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("round %d: writing %s: %v %+v", round, name, err, res)
		}
		op := "commit"
		if round%2 == 1 {
			op = []string{"branch", "from_commit", "new_root", "delete", "tag_move"}[rng.IntN(5)]
		}
		if op == "delete" && len(extra) == 0 {
			op = "new_root"
		}
		ops[op]++
		// The operation gets one attempt: a retry after the restart would
		// hide the interrupted state this test is about.
		once := client(t, p.ep, 0)
		commitBefore := len(commits)
		done := make(chan func(), 1) // applied to the bookkeeping if acknowledged
		target := commits[rng.IntN(len(commits))]
		victim := ""
		if op == "delete" {
			victim = extra[0]
		}
		go func() {
			switch op {
			case "commit":
				r, err := once.CommitVM(ctx, vmID, vers.CommitRequest{}, vers.CommitOptions{})
				if err == nil {
					done <- func() { acked = append(acked, r.CommitID) }
					return
				}
			case "branch":
				r, err := once.BranchByVM(ctx, vmID, vers.BranchOptions{})
				if err == nil {
					done <- func() {
						for _, v := range r.VMs {
							extra = append(extra, v.VMID)
						}
					}
					return
				}
			case "from_commit", "new_root":
				var r *vers.NewVMResponse
				if op == "new_root" {
					r, err = once.CreateVMNewRoot(ctx, vers.NewRootRequest{}, true)
				} else {
					r, err = once.CreateVMFromCommit(ctx, vers.FromCommitRequest{CommitID: target})
				}
				if err == nil {
					done <- func() { extra = append(extra, r.VMID) }
					return
				}
			case "delete":
				if _, err := once.DeleteVM(ctx, victim); err == nil {
					done <- func() { extra = extra[1:]; deleted = append(deleted, victim) }
					return
				}
			case "tag_move":
				if err := once.UpdateRepoTag(ctx, "crash", "live", vers.UpdateTagRequest{CommitID: target}); err == nil {
					done <- func() { tagAt = target }
					return
				}
			}
			done <- nil
		}()
		delay := time.Duration(5+rng.IntN(41)) * time.Millisecond
		time.Sleep(delay)
		p.stop(t, syscall.SIGKILL)
		if apply := <-done; apply != nil {
			apply()
		}
		checkIntegrity(t, p.dataDir)
		p.start(t)

		c = client(t, p.ep, 8)
		for r := 0; r <= round; r++ {
			f := fmt.Sprintf("/root/round-%02d.txt", r)
			got, err := c.ReadFile(ctx, vmID, f)
			if err != nil || string(got) != fmt.Sprintf("round %d", r) {
				t.Fatalf("round %d (%s, kill after %v): acknowledged file %s lost: %q %v\nversd log:\n%s", round, op, delay, f, got, err, p.log)
			}
		}
		all, err := c.ListAllCommits(ctx)
		if err != nil {
			t.Fatal(err)
		}
		commits = commits[:0]
		for _, ci := range all {
			commits = append(commits, ci.CommitID)
		}
		if op == "commit" {
			if len(commits) > commitBefore {
				landed++
			} else {
				inVM++
			}
		}
		vms, err := c.ListVMs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, v := range vms {
			have[v.VMID] = true
		}
		if victim != "" && !have[victim] && len(extra) > 0 && extra[0] == victim {
			// The delete happened though its answer died with versd.
			extra = extra[1:]
			deleted = append(deleted, victim)
		}
		for _, id := range append([]string{vmID}, extra...) {
			if !have[id] {
				t.Fatalf("round %d (%s): acknowledged VM %s is gone", round, op, id)
			}
		}
		for _, id := range deleted {
			if have[id] {
				t.Fatalf("round %d (%s): VM %s whose delete was acknowledged is back", round, op, id)
			}
		}
		// Unacknowledged creates that happened anyway are adopted, so a
		// later delete round can remove them.
		known := map[string]bool{vmID: true}
		for _, id := range extra {
			known[id] = true
		}
		for _, v := range vms {
			if !known[v.VMID] {
				extra = append(extra, v.VMID)
			}
		}
		tag, err := c.GetRepoTag(ctx, "crash", "live")
		if err != nil {
			t.Fatal(err)
		}
		if op == "tag_move" && tag.CommitID != tagAt && tagAt == target {
			t.Fatalf("round %d: acknowledged tag move to %s lost (tag at %s)", round, tagAt, tag.CommitID)
		}
		tagAt = tag.CommitID
		checkNoOrphans(t, p.dataDir)
	}
	// Every acknowledged commit exists and holds the files written before it.
	c = client(t, p.ep, 8)
	for _, id := range acked {
		v, err := c.CreateVMFromCommit(ctx, vers.FromCommitRequest{CommitID: id})
		if err != nil {
			t.Fatalf("acknowledged commit %s: %v", id, err)
		}
		if _, err := c.ReadFile(ctx, v.VMID, "/root/round-00.txt"); err != nil {
			t.Fatalf("acknowledged commit %s lacks the first round's file: %v", id, err)
		}
		if _, err := c.DeleteVM(ctx, v.VMID); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d rounds, operations %v; commits: %d recorded (%d acknowledged before the kill), %d with the data back in the VM's writable layer",
		rounds, ops, landed, len(acked), inVM)
	p.stop(t, syscall.SIGTERM)
	checkNoProcessesUse(t, p.dataDir)
}

// checkIntegrity runs SQLite's integrity_check on the database of a stopped
// versd.
func checkIntegrity(t *testing.T, dataDir string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dataDir, "versd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
		t.Fatalf("integrity_check: %q %v", res, err)
	}
}

// checkNoOrphans compares the layer directories with the layers the
// database refers to and the sandboxes with the VM records (read through a
// second connection; WAL allows it while versd runs), and looks for staging
// a crash left behind.
func checkNoOrphans(t *testing.T, dataDir string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dataDir, "versd.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	used := map[string]bool{}
	for _, q := range []string{`SELECT layers FROM commits`, `SELECT layers FROM vms`} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var text string
			var ids []string
			if err := rows.Scan(&text); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(text), &ids); err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				used[id] = true
			}
		}
		rows.Close()
	}
	vmRecords := map[string]bool{}
	rows, err := db.Query(`SELECT id FROM vms`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		vmRecords[id] = true
	}
	rows.Close()
	sandboxes, err := os.ReadDir(filepath.Join(dataDir, "vms"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range sandboxes {
		if !vmRecords[e.Name()] {
			t.Fatalf("sandbox vms/%s has no VM record after recovery", e.Name())
		}
	}
	var intents int
	if err := db.QueryRow(`SELECT count(*) FROM intents`).Scan(&intents); err != nil || intents != 0 {
		t.Fatalf("after recovery %d intent(s) remain (%v)", intents, err)
	}
	base, _ := os.ReadFile(filepath.Join(dataDir, "base.json"))
	entries, err := os.ReadDir(filepath.Join(dataDir, "layers"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Fatalf("staging left after recovery: layers/%s", e.Name())
		}
		if !used[e.Name()] && !strings.Contains(string(base), e.Name()) {
			t.Fatalf("orphan layer after recovery: layers/%s (referenced: %v)", e.Name(), used)
		}
	}
}

// checkNoProcessesUse fails if any process still runs from the data
// directory after versd stopped: its command line, working directory, root
// or mounts under dataDir. It does not assume how VMs run (plain namespaces,
// runc): whatever runs them has its root or mounts there.
func checkNoProcessesUse(t *testing.T, dataDir string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := processesUsing(dataDir)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes outlived versd: %s", strings.Join(left, "; "))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func processesUsing(dir string) []string {
	entries, _ := os.ReadDir("/proc")
	self := strconv.Itoa(os.Getpid())
	var out []string
	for _, e := range entries {
		pid := e.Name()
		if _, err := strconv.Atoi(pid); err != nil || pid == self {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", pid, "cmdline"))
		cwd, _ := os.Readlink(filepath.Join("/proc", pid, "cwd"))
		root, _ := os.Readlink(filepath.Join("/proc", pid, "root"))
		mounts, _ := os.ReadFile(filepath.Join("/proc", pid, "mountinfo"))
		if strings.Contains(string(cmdline), dir) || strings.HasPrefix(cwd, dir) || strings.HasPrefix(root, dir) ||
			strings.Contains(string(mounts), dir) {
			out = append(out, pid+" "+strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	return out
}
