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

func commitTagConfig(tag, commit, description string) string {
	desc := "null"
	if description != "" {
		desc = fmt.Sprintf("%q", description)
	}
	return fmt.Sprintf(`
resource "vers_commit_tag" "t" {
  name        = %q
  commit_id   = %q
  description = %s
}
`, tag, commit, desc)
}

// remoteCommitTagIs checks what versd really has, not what state says.
// wantDescription "" means "no description".
func remoteCommitTagIs(c *vers.Client, tag, commit, wantDescription string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		info, err := c.GetCommitTag(context.Background(), tag)
		if err != nil {
			return err
		}
		if info.CommitID != commit {
			return fmt.Errorf("versd has commit tag %s -> %s, want %s", tag, info.CommitID, commit)
		}
		got := ""
		if info.Description != nil {
			got = *info.Description
		}
		if got != wantDescription {
			return fmt.Errorf("versd has commit tag %s with description %q, want %q", tag, got, wantDescription)
		}
		return nil
	}
}

func TestAccCommitTag_moveClearAndDrift(t *testing.T) {
	c := testClient(t)
	commits := makeCommits(t, c, 2)
	tag := uniqueName(t, "ctag")
	oldC, newC := commits[0], commits[1]
	inPlace := []plancheck.PlanCheck{plancheck.ExpectResourceAction("vers_commit_tag.t", plancheck.ResourceActionUpdate)}

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if _, err := c.GetCommitTag(context.Background(), tag); !vers.IsNotFound(err) {
				return fmt.Errorf("commit tag %s still exists after destroy (err=%v)", tag, err)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: commitTagConfig(tag, oldC, "first"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vers_commit_tag.t", tfjsonpath.New("id"), knownvalue.StringExact(tag)),
					statecheck.ExpectKnownValue("vers_commit_tag.t", tfjsonpath.New("commit_id"), knownvalue.StringExact(oldC)),
					statecheck.ExpectKnownValue("vers_commit_tag.t", tfjsonpath.New("description"), knownvalue.StringExact("first")),
					statecheck.ExpectKnownValue("vers_commit_tag.t", tfjsonpath.New("tag_id"),
						knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-`))),
				},
				Check: remoteCommitTagIs(c, tag, oldC, "first"),
			},
			{
				ResourceName:      "vers_commit_tag.t",
				ImportState:       true,
				ImportStateId:     tag,
				ImportStateVerify: true,
			},
			{ // move: in place, never a replacement
				Config:           commitTagConfig(tag, newC, "second"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: inPlace},
				Check:            remoteCommitTagIs(c, tag, newC, "second"),
			},
			{ // clear the description, commit stays
				Config:           commitTagConfig(tag, newC, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: inPlace},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vers_commit_tag.t", tfjsonpath.New("description"), knownvalue.Null()),
				},
				Check: remoteCommitTagIs(c, tag, newC, ""),
			},
			{ // someone moves the tag by hand: the plan moves it back in place
				PreConfig: func() {
					if err := c.UpdateCommitTag(context.Background(), tag, vers.UpdateTagRequest{CommitID: oldC}); err != nil {
						t.Fatal(err)
					}
				},
				Config:           commitTagConfig(tag, newC, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: inPlace},
				Check:            remoteCommitTagIs(c, tag, newC, ""),
			},
			{ // someone deletes it: the plan creates it again
				PreConfig: func() {
					if err := c.DeleteCommitTag(context.Background(), tag); err != nil {
						t.Fatal(err)
					}
				},
				Config: commitTagConfig(tag, newC, "back"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("vers_commit_tag.t", plancheck.ResourceActionCreate),
				}},
				Check: remoteCommitTagIs(c, tag, newC, "back"),
			},
		},
	})
}

// A name already taken in the organization fails with advice to import,
// and Terraform does not take over (or delete) the existing tag.
func TestAccCommitTag_duplicateNameSuggestsImport(t *testing.T) {
	c := testClient(t)
	commit := makeCommits(t, c, 1)[0]
	tag := uniqueName(t, "ctag-dup")
	if _, err := c.CreateCommitTag(context.Background(), vers.CreateTagRequest{TagName: tag, CommitID: commit, Description: "by hand"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.DeleteCommitTag(context.Background(), tag) })

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      commitTagConfig(tag, commit, ""),
			ExpectError: regexp.MustCompile(`terraform\s+import\s+<address>\s+` + regexp.QuoteMeta(tag)),
		}},
	})
	if err := remoteCommitTagIs(c, tag, commit, "by hand")(nil); err != nil {
		t.Errorf("the existing tag was changed by the failed create: %v", err)
	}
}

func TestAccCommitTag_badInput(t *testing.T) {
	const someCommit = "0c0ffee0-0000-4000-8000-000000000001"
	cases := map[string]struct {
		config string
		want   string
	}{
		"space in name":     {commitTagConfig("no spaces", someCommit, ""), `letters, digits`},
		"repo:tag as name":  {commitTagConfig("my-app:latest", someCommit, ""), `letters, digits`},
		"name too long":     {commitTagConfig("x"+strings.Repeat("0", 70), someCommit, ""), `64`},
		"invalid commit id": {commitTagConfig("ok-tag", "not a commit!", ""), `commit id`},
		"empty description": {strings.Replace(commitTagConfig("ok-tag", someCommit, ""), "null", `""`, 1), `at least 1`},
		"unknown commit":    {commitTagConfig(uniqueName(t, "ctag-nocommit"), someCommit, ""), `(?i)commit not found`},
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

// Importing with a repository-tag reference points the user at vers_tag.
func TestAccCommitTag_importRejectsRepoRef(t *testing.T) {
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:        commitTagConfig("imported", "0c0ffee0-0000-4000-8000-000000000001", ""),
			ResourceName:  "vers_commit_tag.t",
			ImportState:   true,
			ImportStateId: "my-app:latest",
			ExpectError:   regexp.MustCompile(`import it as vers_tag`),
		}},
	})
}
