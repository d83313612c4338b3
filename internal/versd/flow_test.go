package versd

import (
	"encoding/base64"
	"strings"
	"testing"
)

// TestRootExecCommitRestore is the core workflow: a file written by exec in
// a new root VM is in the commit, and a VM restored from the commit (by id,
// by legacy tag and by repo:tag) sees it, while the VM it came from diverges.
func TestRootExecCommitRestore(t *testing.T) {
	s := startTest(t, "")
	c := newClient(t, s)
	vm := c.newRoot()
	if got := c.execOK(vm, "echo built > /root/marker && cat /root/marker"); got != "built\n" {
		t.Fatalf("exec stdout = %q", got)
	}
	commitID := c.commit(vm, map[string]any{"name": "step-1", "description": "cache key abc"})

	var list struct {
		Commits []struct {
			CommitID    string  `json:"commit_id"`
			Name        string  `json:"name"`
			Description *string `json:"description"`
			ParentVMID  *string `json:"parent_vm_id"`
		} `json:"commits"`
		Total int `json:"total"`
	}
	c.must(200, "GET", "/api/v1/commits", nil, &list)
	if list.Total != 1 || list.Commits[0].CommitID != commitID || list.Commits[0].Name != "step-1" ||
		list.Commits[0].Description == nil || *list.Commits[0].Description != "cache key abc" ||
		list.Commits[0].ParentVMID == nil || *list.Commits[0].ParentVMID != vm {
		t.Fatalf("commit list = %+v", list)
	}

	c.must(201, "POST", "/api/v1/repositories", map[string]any{"name": "app"}, nil)
	c.must(201, "POST", "/api/v1/repositories/app/tags", map[string]any{"tag_name": "latest", "commit_id": commitID}, nil)
	c.must(201, "POST", "/api/v1/commit_tags", map[string]any{"tag_name": "golden", "commit_id": commitID}, nil)

	// The source VM diverges after the commit.
	c.execOK(vm, "echo changed > /root/marker")

	for _, body := range []map[string]any{{"commit_id": commitID}, {"tag_name": "golden"}, {"ref": "app:latest"}} {
		var out struct {
			VMID string `json:"vm_id"`
		}
		c.must(201, "POST", "/api/v1/vm/from_commit", body, &out)
		if got := c.execOK(out.VMID, "cat /root/marker"); got != "built\n" {
			t.Fatalf("restored VM (%v) sees %q", body, got)
		}
		var file struct {
			ContentB64 string `json:"content_b64"`
		}
		c.must(200, "GET", "/api/v1/vm/"+out.VMID+"/files?path=/root/marker", nil, &file)
		if data, _ := base64.StdEncoding.DecodeString(file.ContentB64); string(data) != "built\n" {
			t.Fatalf("files API returned %q", data)
		}
		var meta struct {
			ParentCommitID *string `json:"parent_commit_id"`
			IP             string  `json:"ip"`
			State          string  `json:"state"`
		}
		c.must(200, "GET", "/api/v1/vm/"+out.VMID+"/metadata", nil, &meta)
		if meta.ParentCommitID == nil || *meta.ParentCommitID != commitID || !strings.HasPrefix(meta.IP, "10.") || meta.State != "running" {
			t.Fatalf("metadata = %+v", meta)
		}
	}
	if got := c.execOK(vm, "cat /root/marker"); got != "changed\n" {
		t.Fatalf("source VM sees %q", got)
	}

	// A second commit chains to the first through the restored VM.
	var restored struct {
		VMID string `json:"vm_id"`
	}
	c.must(201, "POST", "/api/v1/vm/from_commit", map[string]any{"commit_id": commitID}, &restored)
	second := c.commit(restored.VMID, nil)
	var parents []struct {
		ID                  string  `json:"id"`
		GrandparentCommitID *string `json:"grandparent_commit_id"`
	}
	c.must(200, "GET", "/api/v1/vm/commits/"+second+"/parents", nil, &parents)
	if len(parents) != 2 || parents[0].ID != second || parents[1].ID != commitID {
		t.Fatalf("parents = %+v", parents)
	}

	// PUT then GET a file, with directories created on the way.
	c.must(200, "PUT", "/api/v1/vm/"+vm+"/files", map[string]any{
		"path": "/opt/app/config.txt", "content_b64": base64.StdEncoding.EncodeToString([]byte("k=v")), "create_dirs": true, "mode": 0o600,
	}, nil)
	if got := c.execOK(vm, "cat /opt/app/config.txt; stat -c %a /opt/app/config.txt"); got != "k=v600\n" {
		t.Fatalf("file written through the API reads %q", got)
	}
	if st := s.Stats(); st.VMsCreated != 5 || st.Commits != 2 || st.Requests["POST /api/v1/vm/from_commit"] != 4 {
		t.Fatalf("stats = %+v", st)
	}
}
