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

func tagDataConfig(repo, tag string) string {
	return fmt.Sprintf("data \"vers_tag\" \"t\" {\n  repo = %q\n  name = %q\n}\n", repo, tag)
}

func TestAccTagDataSource(t *testing.T) {
	c := testClient(t)
	ch := sharedChain(t)
	repo := uniqueName(t, "dstag")
	makeRepoTag(t, c, repo, "", "")
	created, err := c.CreateRepoTag(context.Background(), repo, vers.CreateRepoTagRequest{TagName: "stable", CommitID: ch.Middle, Description: "last good"})
	if err != nil {
		t.Fatal(err)
	}

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			// errors first: the last step's configuration is the one destroyed
			{Config: tagDataConfig(repo, "missing"), ExpectError: regexp.MustCompile(`Cannot read tag`)},
			{Config: tagDataConfig(repo, "bad tag"), ExpectError: regexp.MustCompile(`letters, digits`)},
			{
				Config: tagDataConfig(repo, "stable"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.vers_tag.t", tfjsonpath.New("commit_id"), knownvalue.StringExact(ch.Middle)),
					statecheck.ExpectKnownValue("data.vers_tag.t", tfjsonpath.New("reference"), knownvalue.StringExact(repo+":stable")),
					statecheck.ExpectKnownValue("data.vers_tag.t", tfjsonpath.New("description"), knownvalue.StringExact("last good")),
					statecheck.ExpectKnownValue("data.vers_tag.t", tfjsonpath.New("tag_id"), knownvalue.StringExact(created.TagID)),
					statecheck.ExpectKnownValue("data.vers_tag.t", tfjsonpath.New("updated_at"), knownvalue.NotNull()),
				},
			},
			{ // moved out of band: the data source follows
				PreConfig: func() {
					if err := c.UpdateRepoTag(context.Background(), repo, "stable", vers.UpdateTagRequest{CommitID: ch.Leaf}); err != nil {
						t.Fatal(err)
					}
				},
				Config: tagDataConfig(repo, "stable"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.vers_tag.t", tfjsonpath.New("commit_id"), knownvalue.StringExact(ch.Leaf)),
				},
			},
		},
	})
}
