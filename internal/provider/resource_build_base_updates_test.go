package provider

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// readFileInCommit boots a VM from a commit and returns a file's content.
func readFileInCommit(t *testing.T, c *vers.Client, commitID, file string) string {
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
	out, err := c.Exec(ctx, vm.VMID, vers.ExecRequest{Command: []string{"cat", file}})
	if err != nil {
		t.Fatal(err)
	}
	if out.ExitCode != 0 {
		t.Fatalf("cat %s in commit %s: exit %d: %s", file, commitID, out.ExitCode, out.Stderr)
	}
	return out.Stdout
}

// incrementalConfig is the workflow: each build starts FROM the
// previous latest and a vers_tag moves latest to the new build.
func incrementalConfig(dir, repo, policy, sha string) string {
	return fmt.Sprintf(`
resource "vers_build" "app" {
  context            = %q
  dockerfile_content = "FROM %s:latest\nARG SHA\nRUN echo \"$SHA\" >> /builds.log\n"
  build_args         = { SHA = %q }
  %s
}

resource "vers_tag" "latest" {
  repo      = %q
  name      = "latest"
  commit_id = vers_build.app.commit_id
}

import {
  to = vers_tag.latest
  id = "%s:latest"
}
`, dir, repo, sha, policy, repo, repo)
}

func seedIncrementalRepo(t *testing.T, c *vers.Client, prefix string) (repo, seed string) {
	t.Helper()
	ctx := context.Background()
	seed = makeCommits(t, c, 1)[0]
	repo = uniqueName(t, prefix)
	if _, err := c.CreateRepository(ctx, vers.CreateRepositoryRequest{Name: repo}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateRepoTag(ctx, repo, vers.CreateRepoTagRequest{TagName: "latest", CommitID: seed}); err != nil {
		t.Fatal(err)
	}
	return repo, seed
}

// With base_updates = "ignore" the incremental workflow converges: an
// unchanged configuration plans nothing although latest moved to the
// build's own output, a new merge builds on the previous latest, and after
// a rollback the next merge builds on the rolled-back commit.
func TestAccBuild_incrementalBaseUpdatesIgnore(t *testing.T) {
	c := testClient(t)
	repo, seed := seedIncrementalRepo(t, c, "inc")
	dir := t.TempDir()
	cfg := func(sha string) string { return incrementalConfig(dir, repo, `base_updates = "ignore"`, sha) }
	var a1, a2, a3 string
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg("a1"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					// The plan names the base the build will start from.
					plancheck.ExpectKnownValue("vers_build.app", tfjsonpath.New("base_commit_id"), knownvalue.StringExact(seed)),
				}},
				Check: captureAttr("vers_build.app", "commit_id", &a1),
			},
			// latest now names a1's own commit: nothing to do.
			{Config: cfg("a1"), ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
			{
				Config: cfg("a2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("vers_build.app", plancheck.ResourceActionDestroyBeforeCreate),
					plancheck.ExpectKnownValue("vers_build.app", tfjsonpath.New("base_commit_id"), knownvalue.StringFunc(func(v string) error {
						if v != a1 {
							return fmt.Errorf("a2 must be planned on a1's commit %s, got %s", a1, v)
						}
						return nil
					})),
				}},
				Check: resource.ComposeTestCheckFunc(
					captureAttr("vers_build.app", "commit_id", &a2),
					func(*terraform.State) error {
						if got := readFileInCommit(t, c, a2, "/builds.log"); got != "a1\na2\n" {
							return fmt.Errorf("a2's /builds.log = %q, want a1 then a2", got)
						}
						return nil
					},
				),
			},
			{Config: cfg("a2"), ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
			{
				// On-call rolls latest back to a1 by hand; the next merge
				// builds on a1 and moves latest forward again.
				PreConfig: func() {
					if err := c.UpdateRepoTag(context.Background(), repo, "latest", vers.UpdateTagRequest{CommitID: a1}); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg("a3"),
				Check: resource.ComposeTestCheckFunc(
					captureAttr("vers_build.app", "commit_id", &a3),
					resource.TestCheckResourceAttrPtr("vers_build.app", "base_commit_id", &a1),
					resource.TestCheckResourceAttrPtr("vers_tag.latest", "commit_id", &a3),
					func(*terraform.State) error {
						if got := readFileInCommit(t, c, a3, "/builds.log"); got != "a1\na3\n" {
							return fmt.Errorf("a3's /builds.log = %q, want a1 then a3 (built on the rolled-back commit)", got)
						}
						return nil
					},
				),
			},
			{Config: cfg("a3"), ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
		},
	})
}

// The same workflow with the default policy replans the build forever
// (internal/e2e checks the warning that names the fix).
func TestAccBuild_incrementalRebuildLoops(t *testing.T) {
	c := testClient(t)
	repo, _ := seedIncrementalRepo(t, c, "loop")
	dir := t.TempDir()
	cfg := incrementalConfig(dir, repo, "", "a1")
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: cfg, ExpectNonEmptyPlan: true, ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("vers_build.app", tfjsonpath.New("base_updates"), knownvalue.StringExact("rebuild")),
			}},
			{
				// Applying replaces the build and moves latest again, so the
				// plan after the apply is not empty either.
				Config:             cfg,
				ExpectNonEmptyPlan: true,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("vers_build.app", plancheck.ResourceActionDestroyBeforeCreate),
				}},
			},
		},
	})
}

func TestAccBuild_baseUpdatesValidated(t *testing.T) {
	testAccPreCheck(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      buildConfig(t.TempDir(), `base_updates = "pull"`),
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`value must be one of`),
		}},
	})
}
