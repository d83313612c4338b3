package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

func repoConfig(name, description string, public bool) string {
	return fmt.Sprintf(`
resource "vers_repo" "r" {
  name        = %q
  description = %q
  is_public   = %t
}
`, name, description, public)
}

// remoteRepoIs checks what versd holds for the repository.
func remoteRepoIs(c *vers.Client, name, description string, public bool) resource.TestCheckFunc {
	return func(*terraform.State) error {
		info, err := c.GetRepository(context.Background(), name)
		if err != nil {
			return err
		}
		if info.IsPublic != public {
			return fmt.Errorf("versd has is_public=%t for %s, want %t", info.IsPublic, name, public)
		}
		if info.Description == nil || *info.Description != description {
			return fmt.Errorf("versd has description %v for %s, want %q", info.Description, name, description)
		}
		return nil
	}
}

func TestAccRepo_lifecycle(t *testing.T) {
	c := testClient(t)
	name := uniqueName(t, "repo")
	inPlace := []plancheck.PlanCheck{plancheck.ExpectResourceAction("vers_repo.r", plancheck.ResourceActionUpdate)}

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if _, err := c.GetRepository(context.Background(), name); !vers.IsNotFound(err) {
				return fmt.Errorf("repository %s still exists after destroy (err=%v)", name, err)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: repoConfig(name, "first", false),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vers_repo.r", tfjsonpath.New("id"), knownvalue.StringExact(name)),
					statecheck.ExpectKnownValue("vers_repo.r", tfjsonpath.New("description"), knownvalue.StringExact("first")),
					statecheck.ExpectKnownValue("vers_repo.r", tfjsonpath.New("remote_description"), knownvalue.StringExact("first")),
					statecheck.ExpectKnownValue("vers_repo.r", tfjsonpath.New("is_public"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue("vers_repo.r", tfjsonpath.New("repo_id"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f-]{36}$`))),
					statecheck.ExpectKnownValue("vers_repo.r", tfjsonpath.New("created_at"), knownvalue.NotNull()),
				},
				Check: remoteRepoIs(c, name, "first", false),
			},
			{
				ResourceName:      "vers_repo.r",
				ImportState:       true,
				ImportStateId:     name,
				ImportStateVerify: true,
			},
			{ // visibility changes in place
				Config:           repoConfig(name, "first", true),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: inPlace},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vers_repo.r", tfjsonpath.New("is_public"), knownvalue.Bool(true)),
				},
				Check: remoteRepoIs(c, name, "first", true),
			},
			{ // a description change must not replace the repository: that would delete its tags
				PreConfig: func() {
					commit := sharedChain(t).Root
					if _, err := c.CreateRepoTag(context.Background(), name, vers.CreateRepoTagRequest{TagName: "keep-me", CommitID: commit}); err != nil {
						t.Fatal(err)
					}
				},
				Config:           repoConfig(name, "second", true),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: inPlace},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vers_repo.r", tfjsonpath.New("description"), knownvalue.StringExact("second")),
					statecheck.ExpectKnownValue("vers_repo.r", tfjsonpath.New("remote_description"), knownvalue.StringExact("first")),
				},
				Check: resource.ComposeTestCheckFunc(
					remoteRepoIs(c, name, "first", true),
					func(*terraform.State) error {
						if _, err := c.GetRepoTag(context.Background(), name, "keep-me"); err != nil {
							return fmt.Errorf("the repository's tag did not survive the description change: %w", err)
						}
						return nil
					}),
			},
			{ // and back to private
				Config:           repoConfig(name, "second", false),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: inPlace},
				Check:            remoteRepoIs(c, name, "first", false),
			},
			{ // made public outside Terraform: the next plan makes it private again, in place
				PreConfig: func() {
					if err := c.SetRepositoryVisibility(context.Background(), name, true); err != nil {
						t.Fatal(err)
					}
				},
				Config:           repoConfig(name, "second", false),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: inPlace},
				Check:            remoteRepoIs(c, name, "first", false),
			},
			{ // deleted outside Terraform: the next plan creates it again
				PreConfig: func() {
					if err := c.DeleteRepository(context.Background(), name); err != nil {
						t.Fatal(err)
					}
				},
				Config: repoConfig(name, "second", false),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("vers_repo.r", plancheck.ResourceActionCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vers_repo.r", tfjsonpath.New("remote_description"), knownvalue.StringExact("second")),
				},
				Check: remoteRepoIs(c, name, "second", false),
			},
		},
	})
}

func TestAccRepo_badInput(t *testing.T) {
	cases := map[string]struct{ name, want string }{
		"slash":     {"bad/repo", `letters, digits`},
		"space":     {"no spaces", `letters, digits`},
		"colon":     {"app:latest", `letters, digits`},
		"empty":     {"", `length`},
		"too long":  {strings.Repeat("x", 65), `64`},
		"non-ascii": {"dépôt", `letters, digits`},
	}
	for label, tc := range cases {
		t.Run(label, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				PreCheck:                 func() { testAccPreCheck(t) },
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      fmt.Sprintf("resource \"vers_repo\" \"r\" {\n  name = %q\n}\n", tc.name),
					ExpectError: regexp.MustCompile(tc.want),
				}},
			})
		})
	}
}

func TestAccRepo_duplicateNameSaysImport(t *testing.T) {
	c := testClient(t)
	name := uniqueName(t, "taken")
	makeRepoTag(t, c, name, "", "")
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      fmt.Sprintf("resource \"vers_repo\" \"r\" {\n  name = %q\n}\n", name),
			ExpectError: regexp.MustCompile(`terraform import`),
		}},
	})
}
