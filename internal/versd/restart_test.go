package versd

import (
	"context"
	"slices"
	"testing"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// TestRestartKeepsEverything closes a server and starts another on the same
// data directory: repos, tags, commits, VMs (with their uncommitted files,
// state and SSH key) and idempotency records are all still there.
func TestRestartKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	s := startTest(t, dir)
	c := newClient(t, s)
	vm := c.newRoot()
	c.execOK(vm, "echo committed > /root/a")
	commitID := c.commit(vm, map[string]any{"name": "keep-me"})
	c.execOK(vm, "echo uncommitted > /root/b")
	paused := c.newRoot()
	c.must(204, "PATCH", "/api/v1/vm/"+paused+"/state", map[string]any{"state": "Paused"}, nil)
	c.must(201, "POST", "/api/v1/repositories", map[string]any{"name": "app"}, nil)
	c.must(201, "POST", "/api/v1/repositories/app/tags", map[string]any{"tag_name": "latest", "commit_id": commitID}, nil)
	c.hdr = map[string]string{"X-Idempotency-Key": "restart-key"}
	var forked vers.NewVMResponse
	c.must(201, "POST", "/api/v1/vm/from_commit", map[string]any{"ref": "app:latest"}, &forked)
	c.hdr = nil
	var keyBefore vers.SSHKeyResponse
	c.must(200, "GET", "/api/v1/vm/"+vm+"/ssh_key", nil, &keyBefore)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s2 := startTest(t, dir)
	c = newClient(t, s2)
	if got := c.execOK(vm, "cat /root/a /root/b"); got != "committed\nuncommitted\n" {
		t.Fatalf("after restart the VM sees %q", got)
	}
	var st vers.VM
	c.must(200, "GET", "/api/v1/vm/"+paused+"/status", nil, &st)
	if st.State != "paused" {
		t.Fatalf("paused VM came back %q", st.State)
	}
	c.must(409, "POST", "/api/v1/vm/"+paused+"/exec", map[string]any{"command": []string{"true"}}, nil)
	var tag vers.RepoTagInfo
	c.must(200, "GET", "/api/v1/repositories/app/tags/latest", nil, &tag)
	if tag.CommitID != commitID {
		t.Fatalf("tag = %+v", tag)
	}
	var list vers.ListCommitsResponse
	c.must(200, "GET", "/api/v1/commits", nil, &list)
	if list.Total != 1 || list.Commits[0].Name != "keep-me" {
		t.Fatalf("commits = %+v", list)
	}
	var keyAfter vers.SSHKeyResponse
	c.must(200, "GET", "/api/v1/vm/"+vm+"/ssh_key", nil, &keyAfter)
	if keyAfter.SSHPrivateKey != keyBefore.SSHPrivateKey {
		t.Fatal("the VM's SSH key changed across a restart")
	}
	c.hdr = map[string]string{"X-Idempotency-Key": "restart-key"}
	var replay vers.NewVMResponse
	c.must(201, "POST", "/api/v1/vm/from_commit", map[string]any{"ref": "app:latest"}, &replay)
	if replay.VMID != forked.VMID {
		t.Fatal("idempotency record lost across a restart")
	}
	c.hdr = nil
	// A restored VM runs from the commit after the restart too.
	var fresh vers.NewVMResponse
	c.must(201, "POST", "/api/v1/vm/from_commit", map[string]any{"commit_id": commitID}, &fresh)
	if got := c.execOK(fresh.VMID, "cat /root/a; test -e /root/b || echo no-b"); got != "committed\nno-b\n" {
		t.Fatalf("restored VM sees %q", got)
	}
}

// TestLayerGC checks that deleting the last user of a layer removes it from
// disk, and that the base layer and referenced layers stay.
func TestLayerGC(t *testing.T) {
	s := startTest(t, "")
	c := newClient(t, s)
	vm := c.newRoot()
	commitID := c.commit(vm, nil)
	used, err := s.db.ReferencedLayers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	layersWith, _ := s.vms.Layers()
	c.must(200, "DELETE", "/api/v1/vm/"+vm, nil, nil)
	c.must(204, "DELETE", "/api/v1/commits/"+commitID, nil, nil)
	layersAfter, err := s.vms.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layersAfter) >= len(layersWith) || !slices.Contains(layersAfter, s.vms.BaseLayer()) {
		t.Fatalf("layers before %v (used %v), after %v", layersWith, used, layersAfter)
	}
	if len(layersAfter) != 1 {
		t.Fatalf("unreferenced layers survive: %v", layersAfter)
	}
}
