package versd

import (
	"fmt"
	"testing"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

func TestRepoAndTagLifecycle(t *testing.T) {
	s := startTest(t, "")
	c := newClient(t, s)
	vm := c.newRoot()
	first := c.commit(vm, nil)
	second := c.commit(vm, nil)

	var created vers.CreateRepositoryResponse
	c.must(201, "POST", "/api/v1/repositories", map[string]any{"name": "app", "description": "demo"}, &created)
	if created.Name != "app" || created.RepoID == "" {
		t.Fatalf("create = %+v", created)
	}
	r := c.must(409, "POST", "/api/v1/repositories", map[string]any{"name": "app"}, nil)
	if r.header.Get("x-should-retry") != "false" {
		t.Fatalf("409 without x-should-retry: false: %v", r.header)
	}

	var tag vers.CreateRepoTagResponse
	c.must(201, "POST", "/api/v1/repositories/app/tags", map[string]any{"tag_name": "latest", "commit_id": first, "description": "v1"}, &tag)
	if tag.Reference != "app:latest" || tag.CommitID != first {
		t.Fatalf("tag create = %+v", tag)
	}
	r = c.must(409, "POST", "/api/v1/repositories/app/tags", map[string]any{"tag_name": "latest", "commit_id": second}, nil)
	if r.header.Get("x-should-retry") != "false" {
		t.Fatal("duplicate tag 409 lacks x-should-retry: false")
	}

	// Move the tag (rollforward) and check description three-state PATCH.
	c.must(204, "PATCH", "/api/v1/repositories/app/tags/latest", map[string]any{"commit_id": second}, nil)
	var info struct {
		CommitID    string  `json:"commit_id"`
		Reference   string  `json:"reference"`
		Description *string `json:"description"`
	}
	c.must(200, "GET", "/api/v1/repositories/app/tags/latest", nil, &info)
	if info.CommitID != second || info.Description == nil || *info.Description != "v1" {
		t.Fatalf("after moving: %+v", info)
	}
	c.must(204, "PATCH", "/api/v1/repositories/app/tags/latest", `{"description": null}`, nil)
	c.must(200, "GET", "/api/v1/repositories/app/tags/latest", nil, &info)
	if info.Description != nil || info.CommitID != second {
		t.Fatalf("after clearing description: %+v", info)
	}

	// A tagged commit cannot be deleted; neither can one a VM runs from.
	r = c.must(409, "DELETE", "/api/v1/commits/"+second, nil, nil)
	if msg := r.errorMessage(t); msg == "" || r.header.Get("x-should-retry") != "false" {
		t.Fatalf("tagged commit delete: %s %v", msg, r.header)
	}
	var restored struct {
		VMID string `json:"vm_id"`
	}
	c.must(201, "POST", "/api/v1/vm/from_commit", map[string]any{"commit_id": first}, &restored)
	r = c.must(409, "DELETE", "/api/v1/commits/"+first, nil, nil)
	if msg := r.errorMessage(t); msg[:len("commit has active VMs")] != "commit has active VMs" {
		t.Fatalf("message %q", msg)
	}
	c.must(200, "DELETE", "/api/v1/vm/"+restored.VMID, nil, nil)
	c.must(204, "DELETE", "/api/v1/commits/"+first, nil, nil)
	c.must(404, "DELETE", "/api/v1/commits/"+first, nil, nil)

	// Visibility and public listing.
	c.must(404, "GET", "/api/v1/public/repositories/local/app", nil, nil)
	c.must(204, "PATCH", "/api/v1/repositories/app/visibility", map[string]any{"is_public": true}, nil)
	var pub struct {
		FullName string `json:"full_name"`
		OrgName  string `json:"org_name"`
	}
	c.must(200, "GET", "/api/v1/public/repositories/local/app", nil, &pub)
	if pub.FullName != "local/app" {
		t.Fatalf("public repo = %+v", pub)
	}
	var pubTags struct {
		Repository string                       `json:"repository"`
		Tags       []struct{ Reference string } `json:"tags"`
	}
	c.must(200, "GET", "/api/v1/public/repositories/local/app/tags", nil, &pubTags)
	if pubTags.Repository != "app" || len(pubTags.Tags) != 1 {
		t.Fatalf("public tags = %+v", pubTags)
	}
	c.must(404, "GET", "/api/v1/public/repositories/acme/app", nil, nil)

	// Fork into a new repo: a VM, a commit and a tag appear.
	var fork vers.ForkRepositoryResponse
	c.must(201, "POST", "/api/v1/repositories/fork", map[string]any{"source_org": "local", "source_repo": "app", "source_tag": "latest", "repo_name": "app-fork"}, &fork)
	if fork.Reference != "app-fork:latest" || fork.VMID == "" || fork.CommitID == "" || fork.CommitID == second {
		t.Fatalf("fork = %+v", fork)
	}
	c.must(200, "GET", "/api/v1/vm/"+fork.VMID+"/status", nil, nil)

	// Deleting the repo deletes its tags but not the commit.
	c.must(204, "DELETE", "/api/v1/repositories/app", nil, nil)
	c.must(404, "GET", "/api/v1/repositories/app/tags/latest", nil, nil)
	c.must(404, "GET", "/api/v1/repositories/app", nil, nil)
	c.must(409, "DELETE", "/api/v1/commits/"+second, nil, nil) // the fork VM runs from it
	c.must(200, "DELETE", "/api/v1/vm/"+fork.VMID, nil, nil)
	c.must(204, "DELETE", "/api/v1/commits/"+second, nil, nil)

	// Legacy tags: create, list, update, delete.
	c.must(201, "POST", "/api/v1/commit_tags", map[string]any{"tag_name": "prod", "commit_id": fork.CommitID}, nil)
	c.must(409, "POST", "/api/v1/commit_tags", map[string]any{"tag_name": "prod", "commit_id": fork.CommitID}, nil)
	var tags struct {
		Tags []struct {
			TagName string `json:"tag_name"`
		}
	}
	c.must(200, "GET", "/api/v1/commit_tags", nil, &tags)
	if len(tags.Tags) != 1 || tags.Tags[0].TagName != "prod" {
		t.Fatalf("legacy tags = %+v", tags)
	}
	c.must(204, "PATCH", "/api/v1/commit_tags/prod", map[string]any{"description": "live"}, nil)
	c.must(204, "DELETE", "/api/v1/commit_tags/prod", nil, nil)
	c.must(404, "GET", "/api/v1/commit_tags/prod", nil, nil)
}

func TestCommitPagination(t *testing.T) {
	s := startTest(t, "")
	c := newClient(t, s)
	vm := c.newRoot()
	var ids []string
	for i := 0; i < 5; i++ {
		ids = append(ids, c.commit(vm, map[string]any{"name": fmt.Sprintf("c%d", i)}))
	}
	seen := map[string]bool{}
	for offset := 0; offset < 6; offset += 2 {
		var page struct {
			Commits []struct {
				CommitID string `json:"commit_id"`
			} `json:"commits"`
			Total, Limit, Offset int
		}
		c.must(200, "GET", fmt.Sprintf("/api/v1/commits?limit=2&offset=%d", offset), nil, &page)
		if page.Total != 5 || page.Limit != 2 || page.Offset != offset {
			t.Fatalf("page %d = %+v", offset, page)
		}
		want := min(2, 5-offset)
		if len(page.Commits) != want {
			t.Fatalf("page at %d has %d commits, want %d", offset, len(page.Commits), want)
		}
		for _, cm := range page.Commits {
			if seen[cm.CommitID] {
				t.Fatalf("commit %s on two pages", cm.CommitID)
			}
			seen[cm.CommitID] = true
		}
	}
	if len(seen) != 5 {
		t.Fatalf("saw %d of 5 commits", len(seen))
	}
	// Newest first.
	var page struct {
		Commits []struct {
			CommitID string `json:"commit_id"`
		} `json:"commits"`
	}
	c.must(200, "GET", "/api/v1/commits?limit=1", nil, &page)
	if page.Commits[0].CommitID != ids[4] {
		t.Fatalf("first listed %s, want newest %s", page.Commits[0].CommitID, ids[4])
	}
	// Public commits appear after PATCH is_public.
	c.must(200, "PATCH", "/api/v1/commits/"+ids[0], map[string]any{"is_public": true, "name": "renamed"}, nil)
	var pub struct {
		Commits []struct {
			CommitID string `json:"commit_id"`
			Name     string `json:"name"`
		} `json:"commits"`
		Total int
	}
	c.must(200, "GET", "/api/v1/commits/public", nil, &pub)
	if pub.Total != 1 || pub.Commits[0].CommitID != ids[0] || pub.Commits[0].Name != "renamed" {
		t.Fatalf("public commits = %+v", pub)
	}
}
