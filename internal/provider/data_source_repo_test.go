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

func TestAccRepoDataSource(t *testing.T) {
	c := testClient(t)
	name := uniqueName(t, "dsrepo")
	ctx := context.Background()
	created, err := c.CreateRepository(ctx, vers.CreateRepositoryRequest{Name: name, Description: "the app"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.DeleteRepository(context.Background(), name) })
	if err := c.SetRepositoryVisibility(ctx, name, true); err != nil {
		t.Fatal(err)
	}

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			// errors first: the last step's configuration is the one destroyed
			{
				Config:      "data \"vers_repo\" \"r\" {\n  name = \"no-such-repo-xyz\"\n}\n",
				ExpectError: regexp.MustCompile(`Cannot read repository`),
			},
			{
				Config:      "data \"vers_repo\" \"r\" {\n  name = \"bad/name\"\n}\n",
				ExpectError: regexp.MustCompile(`letters, digits`),
			},
			{
				Config: fmt.Sprintf("data \"vers_repo\" \"r\" {\n  name = %q\n}\n", name),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.vers_repo.r", tfjsonpath.New("repo_id"), knownvalue.StringExact(created.RepoID)),
					statecheck.ExpectKnownValue("data.vers_repo.r", tfjsonpath.New("description"), knownvalue.StringExact("the app")),
					statecheck.ExpectKnownValue("data.vers_repo.r", tfjsonpath.New("is_public"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("data.vers_repo.r", tfjsonpath.New("created_at"), knownvalue.NotNull()),
				},
			},
		},
	})
}
