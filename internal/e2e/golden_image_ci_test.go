package e2e

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// TestGoldenImageCI plays the seed workflow through examples/golden-image-ci:
// three merges on three days, a rollback, and the sliding window of dated
// tags, checking versd after each step.
func TestGoldenImageCI(t *testing.T) {
	dir := copyDir(t, filepath.Join(repoRoot, "examples", "golden-image-ci"))
	c, err := vers.New(vers.Config{BaseURL: server.URL, APIKey: server.APIKey, MaxRetries: 2})
	if err != nil {
		t.Fatal(err)
	}
	tagCommit := func(tag string) string {
		t.Helper()
		info, err := c.GetRepoTag(context.Background(), "my-app", tag)
		if err != nil {
			t.Fatalf("reading my-app:%s on versd: %v", tag, err)
		}
		return info.CommitID
	}
	common := []string{"-input=false", "-var", "keep_dated=2"}
	apply := func(extra ...string) map[string]any {
		t.Helper()
		tf(t, dir, append(append([]string{"apply", "-auto-approve"}, common...), extra...)...)
		return outputs(t, dir)
	}

	// Merge 1.
	out := apply("-var", "git_sha=aaaa1111", "-var", "build_date=2026-04-18", "-var", `team_members=["alice"]`)
	day1 := out["build_commit_id"].(string)
	if tagCommit("latest") != day1 || tagCommit("build-2026-04-18") != day1 {
		t.Fatalf("after merge 1, latest and the dated tag must point at %s", day1)
	}
	if vms := out["dev_vms"].(map[string]any); len(vms) != 1 {
		t.Fatalf("want one dev VM, got %v", vms)
	}
	// The build starts FROM the fork of versd's built-in vers/base:latest.
	base := out["base_image"].(map[string]any)
	if base["reference"] != "my-app-base:latest" {
		t.Fatalf("the base image must be forked as my-app-base:latest, got %v", base)
	}
	if got, err := c.GetRepoTag(context.Background(), "my-app-base", "latest"); err != nil || got.CommitID != base["commit_id"] {
		t.Fatalf("versd must hold the fork my-app-base:latest -> %v: %+v, %v", base["commit_id"], got, err)
	}
	if !hasAncestor(t, c, day1, base["commit_id"].(string)) {
		t.Fatalf("build %s must descend from the forked base %v", day1, base["commit_id"])
	}

	// Merge 2 changes the code: a new build, latest moves in place.
	if err := os.WriteFile(filepath.Join(dir, "app", "feature.txt"), []byte("merge 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	plan := filepath.Join(dir, "merge2.tfplan")
	tf(t, dir, append(append([]string{"plan", "-out", plan}, common...), "-var", "git_sha=bbbb2222", "-var", "build_date=2026-04-19", "-var", `team_members=["alice"]`)...)
	actions := planActions(t, dir, plan)
	if !reflect.DeepEqual(actions["vers_tag.latest"], []string{"update"}) {
		t.Fatalf("moving latest must be an in-place update, plan has %v", actions["vers_tag.latest"])
	}
	if !reflect.DeepEqual(actions["vers_build.app"], []string{"delete", "create"}) && !reflect.DeepEqual(actions["vers_build.app"], []string{"create", "delete"}) {
		t.Fatalf("a code change must replace the build, plan has %v", actions["vers_build.app"])
	}
	if a := actions["vers_repo_fork.base"]; !reflect.DeepEqual(a, []string{"no-op"}) {
		t.Fatalf("a merge must not fork the base again, plan has %v", a)
	}
	if a, ok := actions[`vers_vm.dev["alice"]`]; ok && !reflect.DeepEqual(a, []string{"no-op"}) {
		t.Fatalf("moving latest must not touch running VMs, plan has %v", a)
	}
	tf(t, dir, "apply", "-input=false", plan)
	out = outputs(t, dir)
	day2 := out["build_commit_id"].(string)
	if day2 == day1 {
		t.Fatal("merge 2 must build a new commit")
	}
	if tagCommit("latest") != day2 || tagCommit("build-2026-04-18") != day1 || tagCommit("build-2026-04-19") != day2 {
		t.Fatal("after merge 2: latest -> day 2, both dated tags kept")
	}

	// On-call rolls back to day 1: only latest changes.
	out = apply("-var", "git_sha=bbbb2222", "-var", "build_date=2026-04-19", "-var", `team_members=["alice"]`, "-var", "rollback_to=build-2026-04-18")
	if tagCommit("latest") != day1 || out["latest_commit_id"].(string) != day1 {
		t.Fatalf("rollback must point latest at day 1's commit %s", day1)
	}

	// A typo in rollback_to fails at plan time and names the window.
	bad, err := tfTry(dir, append(append([]string{"plan", "-no-color"}, common...), "-var", "git_sha=bbbb2222", "-var", "build_date=2026-04-19",
		"-var", `team_members=["alice"]`, "-var", "rollback_to=build-1999-01-01")...)
	if err == nil || !strings.Contains(bad, `rollback_to = "build-1999-01-01" is not a dated tag in the rollback window`) {
		t.Fatalf("an unknown rollback_to must fail the plan with a clear message, got err=%v\n%s", err, bad)
	}

	// Merge 3 on day 3 with keep_dated=2: the day-1 tag leaves the window.
	if err := os.WriteFile(filepath.Join(dir, "app", "feature.txt"), []byte("merge 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out = apply("-var", "git_sha=cccc3333", "-var", "build_date=2026-04-20", "-var", `team_members=["alice"]`)
	dated := out["dated_tags"].(map[string]any)
	if len(dated) != 2 || dated["build-2026-04-19"] != day2 || dated["build-2026-04-20"] != out["build_commit_id"] {
		t.Fatalf("sliding window must keep days 2 and 3, got %v", dated)
	}
	if _, err := c.GetRepoTag(context.Background(), "my-app", "build-2026-04-18"); !vers.IsNotFound(err) {
		t.Fatalf("the day-1 tag must be deleted once it leaves the window, got err=%v", err)
	}
	// Old builds stay available as commits even after their tag is gone.
	commits, err := c.ListAllCommits(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, cm := range commits {
		found = found || cm.CommitID == day1
	}
	if !found {
		t.Fatal("destroying a dated tag must not delete the build's commit")
	}

	// A new base_version forks the base again and rebuilds on it, in one apply.
	day3 := out["build_commit_id"].(string)
	oldBase := base["commit_id"].(string)
	rebase := []string{"-var", "git_sha=cccc3333", "-var", "build_date=2026-04-20", "-var", `team_members=["alice"]`, "-var", "base_version=2"}
	plan = filepath.Join(dir, "rebase.tfplan")
	tf(t, dir, append(append([]string{"plan", "-out", plan}, common...), rebase...)...)
	actions = planActions(t, dir, plan)
	replaced := func(a []string) bool {
		return reflect.DeepEqual(a, []string{"delete", "create"}) || reflect.DeepEqual(a, []string{"create", "delete"})
	}
	if !replaced(actions["vers_repo_fork.base"]) || !replaced(actions["vers_build.app"]) {
		t.Fatalf("a new base_version must replace the fork and the build in the same plan, got fork %v, build %v",
			actions["vers_repo_fork.base"], actions["vers_build.app"])
	}
	tf(t, dir, "apply", "-input=false", plan)
	out = outputs(t, dir)
	newBase := out["base_image"].(map[string]any)["commit_id"].(string)
	if newBase == oldBase || out["build_commit_id"] == day3 || !hasAncestor(t, c, out["build_commit_id"].(string), newBase) {
		t.Fatalf("after a new base_version the build must descend from the new fork %s (old fork %s, old build %s): %v", newBase, oldBase, day3, out)
	}

	tf(t, dir, append(append([]string{"destroy", "-auto-approve"}, common...), "-var", "git_sha=cccc3333", "-var", "build_date=2026-04-20", "-var", "base_version=2")...)
	if _, err := c.GetRepository(context.Background(), "my-app-base"); !vers.IsNotFound(err) {
		t.Fatalf("destroy must delete the forked base repository, got err=%v", err)
	}
}

// hasAncestor reports whether ancestor is in commit's lineage.
func hasAncestor(t *testing.T, c *vers.Client, commit, ancestor string) bool {
	t.Helper()
	parents, err := c.GetCommitParents(context.Background(), commit)
	if err != nil {
		t.Fatalf("lineage of %s: %v", commit, err)
	}
	for _, p := range parents {
		if p.ID == ancestor {
			return true
		}
	}
	return false
}
