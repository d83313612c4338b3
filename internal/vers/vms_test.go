package vers

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// recordingServer answers each "METHOD path?query" with a fixed body and
// records the request bodies it received.
type recordingServer struct {
	mu      sync.Mutex
	answers map[string]string
	bodies  map[string]string
}

func (s *recordingServer) handle(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key := r.Method + " " + strings.TrimPrefix(r.URL.Path, "/api/v1")
		if r.URL.RawQuery != "" {
			key += "?" + r.URL.RawQuery
		}
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.bodies[key] = string(body)
		answer, ok := s.answers[key]
		if !ok {
			t.Errorf("unexpected request %s", key)
			writeJSON(w, http.StatusNotFound, `{"error":"no route"}`)
			return
		}
		writeJSON(w, http.StatusOK, answer)
	}
}

func TestVMEndpointsSendDocumentedShapes(t *testing.T) {
	srv := &recordingServer{bodies: map[string]string{}, answers: map[string]string{
		"POST /vm/new_root?wait_boot=true":                      `{"vm_id":"v1"}`,
		"POST /vm/from_commit":                                  `{"vm_id":"v2"}`,
		"POST /vm/v1/branch?count=2&keep_paused=true":           `{"vms":[{"vm_id":"a"},{"vm_id":"b"}]}`,
		"POST /vm/branch/by_ref/app/latest?count=1":             `{"vms":[{"vm_id":"c"}]}`,
		"POST /vm/branch/by_commit/c1":                          `{"vms":[]}`,
		"POST /vm/v1/commit?keep_paused=true":                   `{"commit_id":"c9"}`,
		"PATCH /vm/v1/state":                                    ``,
		"PATCH /vm/v1/label":                                    `{}`,
		"PATCH /vm/v1/disk":                                     ``,
		"GET /vm/v1/files?path=%2Fetc%2Fhostname":               `{"content_b64":"dm0xCg=="}`,
		"PUT /vm/v1/files":                                      `{}`,
		"GET /vm/v1/logs?max_entries=5&offset=10&stream=stderr": `{"entries":[],"next_offset":10,"eof":true}`,
		"GET /vm/v1/metadata":                                   `{"vm_id":"v1","ip":"10.0.0.2"}`,
		"GET /vm/v1/ssh_key":                                    `{"ssh_port":22,"ssh_private_key":"secret"}`,
		"POST /vm/v1/exec":                                      `{"exit_code":0,"stdout":"hi\n","stderr":"","exec_id":null}`,
		"POST /repositories/fork":                               `{"vm_id":"f","reference":"app:v1"}`,
		"PATCH /repositories/app/tags/latest":                   ``,
		"GET /public/repositories/org/app/tags/v1":              `{"tag_name":"v1","commit_id":"c1"}`,
		"GET /vm/commits/c1/parents":                            `[{"id":"c0"}]`,
		"DELETE /commits/c1":                                    ``,
		"PATCH /commits/c1":                                     `{"commit_id":"c1","is_public":true}`,
		"GET /commit_tags/prod":                                 `{"tag_name":"prod","commit_id":"c1"}`,
		"GET /repositories":                                     `{"repositories":[{"name":"app"}]}`,
		"GET /public/repositories":                              `{"repositories":[{"full_name":"org/app"}]}`,
		"PATCH /repositories/app/visibility":                    ``,
	}}
	env := newTestEnv(t, 0, srv.handle(t))
	c, ctx := env.client, context.Background()
	four := int64(4)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	out, err := c.CreateVMNewRoot(ctx, NewRootRequest{VMConfig: VMConfig{VcpuCount: &four}}, true)
	must(err)
	if out.VMID != "v1" || srv.bodies["POST /vm/new_root?wait_boot=true"] != `{"vm_config":{"vcpu_count":4}}` {
		t.Fatalf("new_root: %+v body %s", out, srv.bodies["POST /vm/new_root?wait_boot=true"])
	}
	_, err = c.CreateVMFromCommit(ctx, FromCommitRequest{Ref: "app:latest"})
	must(err)
	if srv.bodies["POST /vm/from_commit"] != `{"ref":"app:latest"}` {
		t.Fatalf("from_commit body %s", srv.bodies["POST /vm/from_commit"])
	}
	vms, err := c.BranchVM(ctx, "v1", BranchOptions{Count: 2, KeepPaused: true})
	must(err)
	if len(vms.VMs) != 2 {
		t.Fatalf("branch: %+v", vms)
	}
	_, err = c.BranchByRef(ctx, "app", "latest", 1)
	must(err)
	if _, err := c.BranchByCommit(ctx, "c1", 0); err == nil || !strings.Contains(err.Error(), "created 0") {
		t.Fatalf("a short branch answer must be an error, got %v", err)
	}
	cm, err := c.CommitVM(ctx, "v1", CommitRequest{Name: "layer"}, CommitOptions{KeepPaused: true})
	must(err)
	if cm.CommitID != "c9" || srv.bodies["POST /vm/v1/commit?keep_paused=true"] != `{"name":"layer"}` {
		t.Fatalf("commit: %+v", cm)
	}
	must(c.SetVMState(ctx, "v1", VMTargetRunning))
	if srv.bodies["PATCH /vm/v1/state"] != `{"state":"Running"}` {
		t.Fatalf("state body %s", srv.bodies["PATCH /vm/v1/state"])
	}
	if err := c.SetVMState(ctx, "v1", "running"); err == nil {
		t.Fatal("a lowercase state target must be refused before it reaches the server")
	}
	must(c.SetVMLabels(ctx, "v1", map[string]string{"team": "infra"}))
	must(c.ResizeDisk(ctx, "v1", 8192))
	if srv.bodies["PATCH /vm/v1/disk"] != `{"fs_size_mib":8192}` {
		t.Fatalf("disk body %s", srv.bodies["PATCH /vm/v1/disk"])
	}
	data, err := c.ReadFile(ctx, "v1", "/etc/hostname")
	must(err)
	if string(data) != "vm1\n" {
		t.Fatalf("ReadFile = %q", data)
	}
	must(c.WriteFile(ctx, "v1", "/root/x", []byte("hi"), WriteFileOptions{Mode: 0o600, CreateDirs: true}))
	var put map[string]any
	_ = json.Unmarshal([]byte(srv.bodies["PUT /vm/v1/files"]), &put)
	if put["content_b64"] != "aGk=" || put["mode"] != float64(0o600) || put["create_dirs"] != true {
		t.Fatalf("PUT files body %v", put)
	}
	logs, err := c.GetExecLogs(ctx, "v1", ExecLogsQuery{Offset: 10, MaxEntries: 5, Stream: "stderr"})
	must(err)
	if !logs.EOF || logs.NextOffset != 10 {
		t.Fatalf("logs %+v", logs)
	}
	md, err := c.GetVMMetadata(ctx, "v1")
	must(err)
	key, err := c.GetVMSSHKey(ctx, "v1")
	must(err)
	ex, err := c.Exec(ctx, "v1", ExecRequest{Command: []string{"echo", "hi"}})
	must(err)
	if md.IP != "10.0.0.2" || key.SSHPrivateKey != "secret" || ex.Stdout != "hi\n" || ex.ExecID != nil {
		t.Fatalf("metadata %+v exec %+v", md, ex)
	}
	if env.logs.contains("secret") {
		t.Fatal("the SSH key reached the log")
	}
	fork, err := c.ForkRepository(ctx, ForkRepositoryRequest{SourceOrg: "org", SourceRepo: "app", SourceTag: "v1"})
	must(err)
	if fork.VMID != "f" {
		t.Fatalf("fork %+v", fork)
	}
	desc := "new"
	must(c.UpdateRepoTag(ctx, "app", "latest", UpdateTagRequest{CommitID: "c2", Description: &desc}))
	if srv.bodies["PATCH /repositories/app/tags/latest"] != `{"commit_id":"c2","description":"new"}` {
		t.Fatalf("tag PATCH body %s", srv.bodies["PATCH /repositories/app/tags/latest"])
	}
	ptag, err := c.GetPublicRepoTag(ctx, "org", "app", "v1")
	must(err)
	parents, err := c.GetCommitParents(ctx, "c1")
	must(err)
	if ptag.CommitID != "c1" || len(parents) != 1 || parents[0].ID != "c0" {
		t.Fatalf("public tag %+v parents %+v", ptag, parents)
	}
	must(c.DeleteCommit(ctx, "c1"))
	upd, err := c.UpdateCommit(ctx, "c1", UpdateCommitRequest{IsPublic: true})
	must(err)
	tag, err := c.GetCommitTag(ctx, "prod")
	must(err)
	repos, err := c.ListRepositories(ctx)
	must(err)
	pub, err := c.ListPublicRepositories(ctx)
	must(err)
	must(c.SetRepositoryVisibility(ctx, "app", true))
	if !upd.IsPublic || tag.CommitID != "c1" || len(repos) != 1 || pub[0].FullName != "org/app" ||
		srv.bodies["PATCH /repositories/app/visibility"] != `{"is_public":true}` {
		t.Fatal("commit/tag/repo answers decoded wrongly")
	}
}

func TestWaitForVMRunning(t *testing.T) {
	states := map[string][]string{
		"ok":   {"booting", "booting", "running"},
		"dead": {"booting", "dead"},
	}
	var mu sync.Mutex
	polls := map[string]int{}
	env := newTestEnv(t, 0, func(w http.ResponseWriter, r *http.Request) {
		id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/api/v1/vm/"), "/status")
		mu.Lock()
		defer mu.Unlock()
		seq, ok := states[id]
		if !ok {
			writeJSON(w, http.StatusNotFound, `{"error":"VM not found"}`)
			return
		}
		i := min(polls[id], len(seq)-1)
		polls[id]++
		writeJSON(w, http.StatusOK, `{"vm_id":"`+id+`","state":"`+seq[i]+`"}`)
	})
	ctx := context.Background()
	if err := env.client.WaitForVMRunning(ctx, "ok", 1); err != nil {
		t.Fatal(err)
	}
	if polls["ok"] != 3 {
		t.Fatalf("polled %d times, want 3", polls["ok"])
	}
	if err := env.client.WaitForVMRunning(ctx, "dead", 1); err == nil || !strings.Contains(err.Error(), "dead") {
		t.Fatalf("dead VM: %v", err)
	}
	if err := env.client.WaitForVMRunning(ctx, "gone", 1); !IsNotFound(err) {
		t.Fatalf("missing VM: %v", err)
	}
}
