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

// TestCommitCrashLoop is the attack of issue 12: write a file in a VM, sync,
// start a commit, SIGKILL versd 5–45 ms later, restart it. Every round's
// file (acknowledged by the exec's answer) must still be readable in the VM,
// and in the commit when the commit was acknowledged or recovered. After
// each restart the database passes integrity_check, no layer is orphaned, no
// staging is left, and at the end no process of any VM outlives versd.
// Before the two-phase commit, files went missing in about 1 round of 5.
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
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 12))
	var acked []string // commits whose 201 arrived before the kill
	landed, inVM := 0, 0
	for round := range rounds {
		c := client(t, p.ep, 8)
		name := fmt.Sprintf("/root/round-%02d.txt", round)
		content := fmt.Sprintf("round %d", round)
		res, err := c.Exec(ctx, vmID, vers.ExecRequest{Command: []string{"sh", "-c", fmt.Sprintf("printf %%s %q > %s && sync", content, name)}})
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("round %d: writing %s: %v %+v", round, name, err, res)
		}
		// The commit gets one attempt: a retry after the restart would hide
		// the interrupted state this test is about.
		once := client(t, p.ep, 0)
		done := make(chan string, 1)
		go func() {
			r, err := once.CommitVM(ctx, vmID, vers.CommitRequest{}, vers.CommitOptions{})
			if err != nil {
				done <- ""
				return
			}
			done <- r.CommitID
		}()
		delay := time.Duration(5+rng.IntN(41)) * time.Millisecond
		time.Sleep(delay)
		p.stop(t, syscall.SIGKILL)
		if id := <-done; id != "" {
			acked = append(acked, id)
		}
		checkIntegrity(t, p.dataDir)
		p.start(t)

		c = client(t, p.ep, 8)
		for r := 0; r <= round; r++ {
			f := fmt.Sprintf("/root/round-%02d.txt", r)
			got, err := c.ReadFile(ctx, vmID, f)
			if err != nil || string(got) != fmt.Sprintf("round %d", r) {
				t.Fatalf("round %d (kill after %v): acknowledged file %s lost: %q %v\nversd log:\n%s", round, delay, f, got, err, p.log)
			}
		}
		commits, err := c.ListAllCommits(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(commits) > landed {
			landed = len(commits)
		} else {
			inVM++
		}
		checkNoOrphanLayers(t, p.dataDir)
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
	t.Logf("%d rounds: %d ended with the commit recorded (%d acknowledged before the kill), %d with the data back in the VM's writable layer",
		rounds, rounds-inVM, len(acked), inVM)
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

// checkNoOrphanLayers compares the layer directories with the layers the
// database refers to (read through a second connection; WAL allows it while
// versd runs), and looks for staging a crash left behind.
func checkNoOrphanLayers(t *testing.T, dataDir string) {
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
