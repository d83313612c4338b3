package e2e

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vers-sh/terraform-provider-vers/internal/tfharness"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// migrationsIn boots a VM from a commit and reads the example's
// accumulating migrations log.
func migrationsIn(t *testing.T, c *vers.Client, commitID string) string {
	t.Helper()
	ctx := context.Background()
	vm, err := c.CreateVMFromCommit(ctx, vers.FromCommitRequest{CommitID: commitID})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = c.DeleteVM(context.Background(), vm.VMID) }()
	if err := c.WaitForVMRunning(ctx, vm.VMID, 0); err != nil {
		t.Fatal(err)
	}
	out, err := c.Exec(ctx, vm.VMID, vers.ExecRequest{Command: []string{"cat", "/var/lib/app/migrations.log"}})
	if err != nil || out.ExitCode != 0 {
		t.Fatalf("reading the migrations log of %s: %v %+v", commitID, err, out)
	}
	return strings.ReplaceAll(strings.TrimSpace(out.Stdout), "\n", ",")
}

// TestGoldenImageCIIncremental plays the incremental variant for real: seed,
// two merges each on the previous latest, an empty plan in between, a
// rollback, and a merge on the rolled-back commit.
func TestGoldenImageCIIncremental(t *testing.T) {
	dir := copyDir(t, filepath.Join(repoRoot, "examples", "golden-image-ci", "incremental"))
	c, err := vers.New(vers.Config{BaseURL: server.URL, APIKey: server.APIKey, MaxRetries: 2})
	if err != nil {
		t.Fatal(err)
	}
	common := []string{"-input=false", "-no-color", "-var", "vm_config={vcpu_count=1,mem_size_mib=512,fs_size_mib=1024}"}
	run := func(cmd string, extra ...string) string {
		t.Helper()
		args := append([]string{cmd}, common...)
		if cmd == "apply" {
			args = append(args, "-auto-approve")
		}
		return tf(t, dir, append(args, extra...)...)
	}
	day := func(sha, date string, extra ...string) []string {
		return append([]string{"-var", "git_sha=" + sha, "-var", "build_date=" + date}, extra...)
	}

	run("apply", day("0000000", "2026-04-17", "-var", "seed=true")...)
	run("apply", day("aaaa1111", "2026-04-18")...)
	a1 := outputs(t, dir)["build_commit_id"].(string)
	if got := migrationsIn(t, c, a1); got != "seed,aaaa1111" {
		t.Fatalf("merge 1 must build on the seed, migrations log = %s", got)
	}
	if out := run("plan", day("aaaa1111", "2026-04-18")...); !strings.Contains(out, "No changes.") {
		t.Fatalf("an unchanged merge must plan nothing although latest moved to the build's output:\n%s", out)
	}

	out := run("plan", day("bbbb2222", "2026-04-19")...)
	if !regexp.MustCompile(`base_commit_id\s+= .*"` + a1 + `"`).MatchString(out) {
		t.Fatalf("the plan must show the new build starting from merge 1's commit %s:\n%s", a1, out)
	}
	run("apply", day("bbbb2222", "2026-04-19")...)
	a2 := outputs(t, dir)["build_commit_id"].(string)
	if got := migrationsIn(t, c, a2); got != "seed,aaaa1111,bbbb2222" {
		t.Fatalf("merge 2 must build on merge 1, migrations log = %s", got)
	}

	run("apply", day("bbbb2222", "2026-04-19", "-var", "rollback_to=build-2026-04-18")...)
	if got := outputs(t, dir)["latest_commit_id"]; got != a1 {
		t.Fatalf("rollback must point latest at %s, got %v", a1, got)
	}
	run("apply", day("cccc3333", "2026-04-20")...)
	o := outputs(t, dir)
	if o["base_commit_id"] != a1 || o["latest_commit_id"] != o["build_commit_id"] {
		t.Fatalf("after a rollback the next merge builds on the rolled-back commit %s and moves latest to itself: %v", a1, o)
	}
	if got := migrationsIn(t, c, o["build_commit_id"].(string)); got != "seed,aaaa1111,cccc3333" {
		t.Fatalf("merge 3 must build on merge 1 (rolled back), migrations log = %s", got)
	}
	if out := run("plan", day("cccc3333", "2026-04-20")...); !strings.Contains(out, "No changes.") {
		t.Fatalf("the plan after merge 3 must be empty:\n%s", out)
	}

	if out := tf(t, dir, "test", "-no-color"); !regexp.MustCompile(`Success! 3 passed, 0 failed`).MatchString(out) {
		t.Fatalf("the example's terraform test did not pass:\n%s", out)
	}
}

// With the default policy the same workflow loops, and the plan says so
// and names the fix.
func TestIncrementalLoopWarning(t *testing.T) {
	c, err := vers.New(vers.Config{BaseURL: server.URL, APIKey: server.APIKey, MaxRetries: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	repo := uniqueName("loop")
	if _, err := c.CreateRepository(ctx, vers.CreateRepositoryRequest{Name: repo}); err != nil {
		t.Fatal(err)
	}
	dir := tfharness.WriteFiles(t, t.TempDir(), map[string]string{
		"seed/Dockerfile": "FROM scratch\nRUN echo seed > /builds.log\n",
		"main.tf": `terraform {
  required_providers {
    vers = { source = "vers-sh/vers" }
  }
}
resource "vers_build" "seed" {
  context   = "${path.module}/seed"
  vm_config = { vcpu_count = 1, mem_size_mib = 512, fs_size_mib = 1024 }
}
resource "vers_tag" "latest" {
  repo      = "` + repo + `"
  name      = "latest"
  commit_id = vers_build.seed.commit_id
}
`})
	tf(t, dir, "apply", "-auto-approve", "-input=false")
	tfharness.WriteFiles(t, dir, map[string]string{"main.tf": `terraform {
  required_providers {
    vers = { source = "vers-sh/vers" }
  }
}
resource "vers_build" "app" {
  context            = "${path.module}/seed"
  dockerfile_content = "FROM ` + repo + `:latest\nRUN echo again >> /builds.log\n"
}
resource "vers_tag" "latest" {
  repo      = "` + repo + `"
  name      = "latest"
  commit_id = vers_build.app.commit_id
}
`})
	tf(t, dir, "apply", "-auto-approve", "-input=false")
	out := tf(t, dir, "plan", "-input=false", "-no-color")
	if !strings.Contains(out, "Build would rebuild on its own output forever") || !strings.Contains(out, `base_updates = "ignore"`) {
		t.Fatalf("the plan must warn of the loop and name base_updates = \"ignore\":\n%s", out)
	}
}
