package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// TestRepoForkSourceMoves: organisation "publisher" moves the tag that the
// default organisation forked. The plan must say so and change nothing (a
// silent re-fork would rebuild everything built on the fork); a new
// triggers value then forks the moved source.
func TestRepoForkSourceMoves(t *testing.T) {
	ctx := context.Background()
	key, ok := server.KeyOf("publisher")
	if !ok {
		t.Fatal("the e2e versd has no publisher organisation")
	}
	pub, err := vers.New(vers.Config{BaseURL: server.URL, APIKey: key, MaxRetries: 2})
	if err != nil {
		t.Fatal(err)
	}
	// The publisher's image: two forks of the built-in base give two commits.
	commits := map[string]string{}
	for _, tag := range []string{"v1", "v2"} {
		out, err := pub.ForkRepository(ctx, vers.ForkRepositoryRequest{SourceOrg: "vers", SourceRepo: "base", SourceTag: "latest", RepoName: "toolbox", TagName: tag})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pub.DeleteVM(ctx, out.VMID); err != nil {
			t.Fatal(err)
		}
		commits[tag] = out.CommitID
	}
	t.Cleanup(func() { _ = pub.DeleteRepository(context.Background(), "toolbox") })
	if err := pub.SetRepositoryVisibility(ctx, "toolbox", true); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	config := func(trigger string) {
		t.Helper()
		cfg := `
terraform {
  required_providers {
    vers = { source = "vers-sh/vers" }
  }
}

resource "vers_repo_fork" "toolbox" {
  source   = "publisher/toolbox:v1"
  triggers = { version = "` + trigger + `" }
}

output "source_commit_id" {
  value = vers_repo_fork.toolbox.source_commit_id
}
`
		if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	config("1")
	tf(t, dir, "apply", "-auto-approve", "-input=false")
	if got := outputs(t, dir)["source_commit_id"]; got != commits["v1"] {
		t.Fatalf("source_commit_id = %v, want the publisher's v1 commit %s", got, commits["v1"])
	}

	if err := pub.UpdateRepoTag(ctx, "toolbox", "v1", vers.UpdateTagRequest{CommitID: commits["v2"]}); err != nil {
		t.Fatal(err)
	}
	plan := tf(t, dir, "plan", "-no-color", "-input=false")
	if !strings.Contains(plan, "The fork's source has moved") || !strings.Contains(plan, commits["v2"]) {
		t.Fatalf("the plan must warn that publisher/toolbox:v1 moved to %s:\n%s", commits["v2"], plan)
	}
	if !strings.Contains(plan, "No changes.") {
		t.Fatalf("a moved source must not re-fork by itself:\n%s", plan)
	}

	config("2")
	tf(t, dir, "apply", "-auto-approve", "-input=false")
	if got := outputs(t, dir)["source_commit_id"]; got != commits["v2"] {
		t.Fatalf("after a new triggers value the fork must come from the moved source %s, got %v", commits["v2"], got)
	}
	tf(t, dir, "destroy", "-auto-approve", "-input=false")
}
