package provider

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

func names(ns ...string) knownvalue.Check {
	checks := make([]knownvalue.Check, len(ns))
	for i, n := range ns {
		checks[i] = knownvalue.StringExact(n)
	}
	return knownvalue.ListExact(checks)
}

func TestAccRepoTagsDataSource(t *testing.T) {
	c := testClient(t)
	ch := sharedChain(t)
	repo := uniqueName(t, "dstags")
	makeRepoTag(t, c, repo, "", "")
	// Created out of order; build-10 sorts between build-1 and build-2 by name.
	for _, tag := range []struct{ name, commit string }{
		{"latest", ch.Leaf}, {"build-2", ch.Middle}, {"build-10", ch.Leaf}, {"build-1", ch.Root},
	} {
		if _, err := c.CreateRepoTag(context.Background(), repo, vers.CreateRepoTagRequest{TagName: tag.name, CommitID: tag.commit}); err != nil {
			t.Fatal(err)
		}
	}
	missing := uniqueName(t, "absent")

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: fmt.Sprintf(`
data "vers_repo_tags" "all" {
  repo = %[1]q
}

data "vers_repo_tags" "builds" {
  repo        = %[1]q
  name_prefix = "build-"
}

data "vers_repo_tags" "none" {
  repo        = %[1]q
  name_prefix = "release-"
}

data "vers_repo_tags" "missing" {
  repo                = %[2]q
  ignore_missing_repo = true
}
`, repo, missing),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.vers_repo_tags.all", tfjsonpath.New("names"), names("build-1", "build-10", "build-2", "latest")),
					statecheck.ExpectKnownValue("data.vers_repo_tags.builds", tfjsonpath.New("names"), names("build-1", "build-10", "build-2")),
					statecheck.ExpectKnownValue("data.vers_repo_tags.builds", tfjsonpath.New("tags").AtSliceIndex(0).AtMapKey("commit_id"),
						knownvalue.StringExact(ch.Root)),
					statecheck.ExpectKnownValue("data.vers_repo_tags.builds", tfjsonpath.New("tags").AtSliceIndex(2).AtMapKey("reference"),
						knownvalue.StringExact(repo+":build-2")),
					statecheck.ExpectKnownValue("data.vers_repo_tags.none", tfjsonpath.New("names"), names()),
					statecheck.ExpectKnownValue("data.vers_repo_tags.missing", tfjsonpath.New("names"), names()),
					statecheck.ExpectKnownValue("data.vers_repo_tags.missing", tfjsonpath.New("tags"), knownvalue.ListSizeExact(0)),
				},
			},
			{
				Config: fmt.Sprintf(`
data "vers_repo_tags" "missing" {
  repo                = %q
  ignore_missing_repo = false
}
`, missing),
				ExpectError: regexp.MustCompile(`Cannot list tags`),
			},
			{
				Config:      fmt.Sprintf("data \"vers_repo_tags\" \"missing\" {\n  repo = %q\n}\n", missing),
				ExpectError: regexp.MustCompile(`Cannot list tags`),
			},
		},
	})
}
