package versd

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

func TestIdempotentReplay(t *testing.T) {
	s := startTest(t, "")
	c := newClient(t, s)
	c.hdr = map[string]string{"X-Idempotency-Key": "key-1"}
	body := map[string]any{"vm_config": map[string]any{}}
	var first, second vers.NewVMResponse
	c.must(201, "POST", "/api/v1/vm/new_root", body, &first)
	r := c.must(201, "POST", "/api/v1/vm/new_root", body, &second)
	if first.VMID != second.VMID || r.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay created a second VM: %s vs %s", first.VMID, second.VMID)
	}
	// The key is per path: the same key on a commit is a different request.
	commit1 := c.commit(first.VMID, nil)
	commit2 := c.commit(first.VMID, nil)
	if commit1 != commit2 {
		t.Fatalf("commit replay made two commits: %s, %s", commit1, commit2)
	}
	c.hdr = map[string]string{"X-Idempotency-Key": "key-2"}
	var third vers.NewVMResponse
	c.must(201, "POST", "/api/v1/vm/new_root", body, &third)
	if third.VMID == first.VMID {
		t.Fatal("a new key replayed the old response")
	}
	var vms []vers.VM
	c.hdr = nil
	c.must(200, "GET", "/api/v1/vms", nil, &vms)
	if len(vms) != 2 || s.Stats().Commits != 1 {
		t.Fatalf("%d VMs, %d commits; want 2 and 1", len(vms), s.Stats().Commits)
	}
}

// readStream parses NDJSON lines.
func readStream(t *testing.T, data []byte) []vers.StreamLine {
	t.Helper()
	var out []vers.StreamLine
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var l vers.StreamLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	return out
}

func collect(t *testing.T, lines []vers.StreamLine) (stdout, stderr string, exit *int) {
	t.Helper()
	var o, e strings.Builder
	for _, l := range lines {
		switch l.Type {
		case vers.StreamLineChunk:
			data, err := base64.StdEncoding.DecodeString(l.DataB64)
			if err != nil {
				t.Fatal(err)
			}
			if l.Stream == "stdout" {
				o.Write(data)
			} else {
				e.Write(data)
			}
		case vers.StreamLineExit:
			exit = l.ExitCode
		}
	}
	return o.String(), e.String(), exit
}

func TestExecStreamAndAttach(t *testing.T) {
	s := startTest(t, "")
	c := newClient(t, s)
	vm := c.newRoot()
	execID := "11111111-2222-4333-8444-555555555555"
	r := c.must(200, "POST", "/api/v1/vm/"+vm+"/exec/stream", map[string]any{
		"command": []string{"sh", "-c", "echo out; echo err >&2; cat; cd; pwd; echo $GREETING; exit 3"},
		"env":     map[string]string{"GREETING": "hello"}, "working_dir": "/tmp", "stdin": "piped\n", "exec_id": execID,
	}, nil)
	if ct := r.header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Fatalf("content type %q", ct)
	}
	lines := readStream(t, r.body)
	stdout, stderr, exit := collect(t, lines)
	if stdout != "out\npiped\n/root\nhello\n" || stderr != "err\n" || exit == nil || *exit != 3 {
		t.Fatalf("stream: stdout %q stderr %q exit %v", stdout, stderr, exit)
	}
	for i, l := range lines {
		if l.Cursor != int64(i+1) || l.ExecID != execID {
			t.Fatalf("line %d: cursor %d exec_id %q", i, l.Cursor, l.ExecID)
		}
	}
	// Re-attach after the second line replays the rest, ending in the exit.
	r = c.must(200, "POST", "/api/v1/vm/"+vm+"/exec/stream/attach", map[string]any{"exec_id": execID, "cursor": 2}, nil)
	replay := readStream(t, r.body)
	if len(replay) != len(lines)-2 || replay[0].Cursor != 3 || replay[len(replay)-1].Type != vers.StreamLineExit {
		t.Fatalf("replay = %+v", replay)
	}
	// Without a cursor the whole backlog comes back.
	r = c.must(200, "POST", "/api/v1/vm/"+vm+"/exec/stream/attach", map[string]any{"exec_id": execID}, nil)
	if got := readStream(t, r.body); len(got) != len(lines) {
		t.Fatalf("full replay has %d lines, want %d", len(got), len(lines))
	}
	// The same exec id cannot start a second command.
	c.must(409, "POST", "/api/v1/vm/"+vm+"/exec/stream", map[string]any{"command": []string{"true"}, "exec_id": execID}, nil)

	var logs vers.ExecLogResponse
	c.must(200, "GET", "/api/v1/vm/"+vm+"/logs?stream=stderr", nil, &logs)
	if len(logs.Entries) != 1 || !logs.EOF {
		t.Fatalf("stderr logs = %+v", logs)
	}
	// A missing program is an exit code, not a broken stream.
	r = c.must(200, "POST", "/api/v1/vm/"+vm+"/exec/stream", map[string]any{"command": []string{"no-such-program"}}, nil)
	if _, _, exit := collect(t, readStream(t, r.body)); exit == nil || *exit == 0 {
		t.Fatalf("missing program exit = %v", exit)
	}
}

func TestPauseResumeAndBranch(t *testing.T) {
	s := startTest(t, "")
	c := newClient(t, s)
	vm := c.newRoot()
	c.execOK(vm, "echo parent > /root/f")
	c.must(204, "PATCH", "/api/v1/vm/"+vm+"/state", map[string]any{"state": "Paused"}, nil)
	var st vers.VM
	c.must(200, "GET", "/api/v1/vm/"+vm+"/status", nil, &st)
	if st.State != "paused" {
		t.Fatalf("state %q after pause", st.State)
	}
	r := c.must(409, "POST", "/api/v1/vm/"+vm+"/exec", map[string]any{"command": []string{"true"}}, nil)
	if msg := r.errorMessage(t); !strings.HasPrefix(msg, "VM is paused") || r.header.Get("x-should-retry") != "false" {
		t.Fatalf("paused exec: %q", msg)
	}
	c.must(409, "POST", "/api/v1/vm/"+vm+"/exec/stream", map[string]any{"command": []string{"true"}}, nil)
	c.must(204, "PATCH", "/api/v1/vm/"+vm+"/state", map[string]any{"state": "Running"}, nil)
	c.execOK(vm, "true")

	// Branch the VM into two children; the parent keeps running.
	var kids vers.NewVMsResponse
	c.must(201, "POST", "/api/v1/vm/"+vm+"/branch?count=2", nil, &kids)
	if len(kids.VMs) != 2 {
		t.Fatalf("branch made %d VMs", len(kids.VMs))
	}
	c.execOK(kids.VMs[0].VMID, "echo child > /root/f")
	if got := c.execOK(kids.VMs[1].VMID, "cat /root/f"); got != "parent\n" {
		t.Fatalf("sibling sees %q", got)
	}
	if got := c.execOK(vm, "cat /root/f"); got != "parent\n" {
		t.Fatalf("parent sees %q", got)
	}
	var meta vers.VMMetadata
	c.must(200, "GET", "/api/v1/vm/"+kids.VMs[0].VMID+"/metadata", nil, &meta)
	if meta.GrandparentVMID == nil || *meta.GrandparentVMID != vm {
		t.Fatalf("child metadata = %+v", meta)
	}
	// keep_paused leaves the parent paused; the other branch routes work.
	c.must(201, "POST", "/api/v1/vm/branch/by_vm/"+vm+"?keep_paused=true&count=1", nil, &kids)
	c.must(200, "GET", "/api/v1/vm/"+vm+"/status", nil, &st)
	if st.State != "paused" {
		t.Fatalf("keep_paused branch left the parent %q", st.State)
	}
	commitID := c.commit(kids.VMs[0].VMID, nil)
	c.must(201, "POST", "/api/v1/repositories", map[string]any{"name": "r"}, nil)
	c.must(201, "POST", "/api/v1/repositories/r/tags", map[string]any{"tag_name": "t", "commit_id": commitID}, nil)
	c.must(201, "POST", "/api/v1/commit_tags", map[string]any{"tag_name": "lt", "commit_id": commitID}, nil)
	for _, path := range []string{"/api/v1/vm/branch/by_commit/" + commitID, "/api/v1/vm/branch/by_tag/lt", "/api/v1/vm/branch/by_ref/r/t", "/api/v1/vm/" + commitID + "/branch"} {
		c.must(201, "POST", path+"?count=1", nil, &kids)
		if len(kids.VMs) != 1 {
			t.Fatalf("%s made %d VMs", path, len(kids.VMs))
		}
	}
	c.must(201, "POST", "/api/v1/vm/branch/by_commit/"+commitID+"?count=0", nil, &kids)
	if len(kids.VMs) != 0 {
		t.Fatalf("count=0 made %d VMs", len(kids.VMs))
	}
	var labels map[string]any
	c.must(200, "PATCH", "/api/v1/vm/"+vm+"/label", map[string]any{"labels": map[string]string{"team": "infra"}}, &labels)
	c.must(200, "GET", "/api/v1/vm/"+vm+"/status", nil, &st)
	if st.Labels["team"] != "infra" {
		t.Fatalf("labels = %v", st.Labels)
	}
	c.must(204, "PATCH", "/api/v1/vm/"+vm+"/disk", map[string]any{"fs_size_mib": 4096}, nil)
	c.must(400, "PATCH", "/api/v1/vm/"+vm+"/disk", map[string]any{"fs_size_mib": 4096}, nil)
	c.must(200, "DELETE", "/api/v1/vm/"+vm, nil, nil)
	c.must(404, "GET", "/api/v1/vm/"+vm+"/status", nil, nil)
	if r := c.do("GET", "/api/v1/vm/"+vm+"/ssh_key", nil); r.status != http.StatusNotFound {
		t.Fatalf("ssh_key of a deleted VM: %d", r.status)
	}
}
