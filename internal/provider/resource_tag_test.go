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

// makeCommits creates n commits on versd directly (a VM from new_root,
// then a commit per file written), so tag tests do not depend on vers_build.
func makeCommits(t *testing.T, c *vers.Client, n int) []string {
	t.Helper()
	ctx := context.Background()
	one := int64(1)
	vm, err := c.CreateVMNewRoot(ctx, vers.NewRootRequest{VMConfig: vers.VMConfig{VcpuCount: &one}}, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = c.DeleteVM(context.Background(), vm.VMID) })
	if err := c.WaitForVMRunning(ctx, vm.VMID, 0); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 0, n)
	for i := 0; i < n; i++ {
		if _, err := c.Exec(ctx, vm.VMID, vers.ExecRequest{Command: []string{"sh", "-c", fmt.Sprintf("echo %d > /generation", i)}}); err != nil {
			t.Fatal(err)
		}
		out, err := c.CommitVM(ctx, vm.VMID, vers.CommitRequest{Name: fmt.Sprintf("tagtest-%d", i)}, vers.CommitOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, out.CommitID)
	}
	return ids
}

func tagConfig(repo, tag, commit, description string) string {
	desc := "null"
	if description != "" {
		desc = fmt.Sprintf("%q", description)
	}
	return fmt.Sprintf(`
resource "vers_repo" "r" {
  name = %q
}

resource "vers_tag" "t" {
  repo        = vers_repo.r.name
  name        = %q
  commit_id   = %q
  description = %s
}
`, repo, tag, commit, desc)
}

// remoteTagIs checks what versd really has, not what state says.
func remoteTagIs(c *vers.Client, repo, tag, commit string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		info, err := c.GetRepoTag(context.Background(), repo, tag)
		if err != nil {
			return err
		}
		if info.CommitID != commit {
			return fmt.Errorf("versd has %s:%s -> %s, want %s", repo, tag, info.CommitID, commit)
		}
		return nil
	}
}

func TestAccTag_promoteRollbackAndDrift(t *testing.T) {
	c := testClient(t)
	commits := makeCommits(t, c, 2)
	repo := uniqueName(t, "tags")
	oldC, newC := commits[0], commits[1]
	inPlace := []plancheck.PlanCheck{plancheck.ExpectResourceAction("vers_tag.t", plancheck.ResourceActionUpdate)}

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: tagConfig(repo, "latest", oldC, "first"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vers_tag.t", tfjsonpath.New("reference"), knownvalue.StringExact(repo+":latest")),
					statecheck.ExpectKnownValue("vers_tag.t", tfjsonpath.New("commit_id"), knownvalue.StringExact(oldC)),
					statecheck.ExpectKnownValue("vers_tag.t", tfjsonpath.New("description"), knownvalue.StringExact("first")),
				},
				Check: remoteTagIs(c, repo, "latest", oldC),
			},
			{
				ResourceName:      "vers_tag.t",
				ImportState:       true,
				ImportStateId:     repo + ":latest",
				ImportStateVerify: true,
			},
			{ // promote: in place, never a replacement
				Config:           tagConfig(repo, "latest", newC, "second"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: inPlace},
				Check:            remoteTagIs(c, repo, "latest", newC),
			},
			{ // roll back and clear the description
				Config:           tagConfig(repo, "latest", oldC, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: inPlace},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vers_tag.t", tfjsonpath.New("description"), knownvalue.Null()),
				},
				Check: resource.ComposeTestCheckFunc(remoteTagIs(c, repo, "latest", oldC), func(*terraform.State) error {
					info, err := c.GetRepoTag(context.Background(), repo, "latest")
					if err != nil {
						return err
					}
					if info.Description != nil && *info.Description != "" {
						return fmt.Errorf("description not cleared on versd: %q", *info.Description)
					}
					return nil
				}),
			},
			{ // someone moves the tag by hand: the plan moves it back in place
				PreConfig: func() {
					if err := c.UpdateRepoTag(context.Background(), repo, "latest", vers.UpdateTagRequest{CommitID: newC}); err != nil {
						t.Fatal(err)
					}
				},
				Config:           tagConfig(repo, "latest", oldC, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: inPlace},
				Check:            remoteTagIs(c, repo, "latest", oldC),
			},
			{ // someone deletes it: the plan creates it again
				PreConfig: func() {
					if err := c.DeleteRepoTag(context.Background(), repo, "latest"); err != nil {
						t.Fatal(err)
					}
				},
				Config: tagConfig(repo, "latest", oldC, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("vers_tag.t", plancheck.ResourceActionCreate),
				}},
				Check: remoteTagIs(c, repo, "latest", oldC),
			},
		},
	})
}

func TestAccTag_badInput(t *testing.T) {
	cases := map[string]struct {
		config string
		want   string
	}{
		"invalid tag name":  {tagConfig("ok-repo", "no spaces", "0c0ffee0-0000-4000-8000-000000000001", ""), `tag|name`},
		"invalid repo name": {tagConfig("bad/repo", "latest", "0c0ffee0-0000-4000-8000-000000000001", ""), `name`},
		"invalid commit id": {tagConfig("ok-repo", "latest", "not a commit!", ""), `commit`},
		"name too long":     {tagConfig("ok-repo", string(make([]byte, 0))+"x"+fmt.Sprintf("%070d", 0), "0c0ffee0-0000-4000-8000-000000000001", ""), `64`},
		"empty description": {`resource "vers_tag" "t" {` + "\n" + `repo = "ok-repo"` + "\n" + `name = "latest"` + "\n" +
			`commit_id = "0c0ffee0-0000-4000-8000-000000000001"` + "\n" + `description = ""` + "\n}", `(?i)description(.|\n)*length`},
		"unknown repository": {`resource "vers_tag" "t" {` + "\n" + `repo = "no-such-repo-xyz"` + "\n" + `name = "latest"` + "\n" + `commit_id = "0c0ffee0-0000-4000-8000-000000000001"` + "\n}", `(?i)not found|no such|does not exist`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				PreCheck:                 func() { testAccPreCheck(t) },
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps:                    []resource.TestStep{{Config: tc.config, ExpectError: regexp.MustCompile(tc.want)}},
			})
		})
	}
}
