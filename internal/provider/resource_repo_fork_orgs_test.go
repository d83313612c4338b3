package provider

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// accOtherOrg is the test versd's second organisation; the provider under
// test acts as the default one (accOrg).
const accOtherOrg = "other"

// otherOrgClient is an API client acting as accOtherOrg.
func otherOrgClient(t *testing.T) *vers.Client {
	t.Helper()
	testAccPreCheck(t)
	key, ok := accServer.KeyOf(accOtherOrg)
	if !ok {
		t.Fatalf("the test versd has no key for organisation %s", accOtherOrg)
	}
	c, err := vers.New(vers.Config{BaseURL: accServer.URL, APIKey: key, MaxRetries: 3, UserAgent: "vers-tests"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// publishIn forks versd's built-in vers/base:latest into c's organisation as
// repo:v1 (the one way an organisation gets a commit without a build) and
// sets the repository's visibility. It returns the tag's commit.
func publishIn(t *testing.T, c *vers.Client, repo string, public bool) string {
	t.Helper()
	ctx := context.Background()
	out, err := c.ForkRepository(ctx, vers.ForkRepositoryRequest{SourceOrg: "vers", SourceRepo: "base", SourceTag: "latest", RepoName: repo, TagName: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.DeleteRepository(context.Background(), repo) })
	if _, err := c.DeleteVM(ctx, out.VMID); err != nil {
		t.Fatal(err)
	}
	if err := c.SetRepositoryVisibility(ctx, repo, public); err != nil {
		t.Fatal(err)
	}
	return out.CommitID
}

// Organisation "other" publishes a repository; the provider's organisation
// forks it and builds on the fork. Nothing of the fork appears in "other".
func TestAccRepoFork_acrossOrganisations(t *testing.T) {
	other := otherOrgClient(t)
	c := testClient(t)
	pub := uniqueName(t, "published")
	published := publishIn(t, other, pub, true)
	name := uniqueName(t, "theirs")
	cfg := forkConfig(accOtherOrg+"/"+pub+":v1", name, "") + fmt.Sprintf(`
resource "vers_build" "app" {
  context            = %q
  dockerfile_content = "FROM ${vers_repo_fork.f.reference}\nRUN echo built-on-a-fork > /marker\n"
}
`, t.TempDir())
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if _, err := other.GetRepoTag(context.Background(), pub, "v1"); err != nil {
				return fmt.Errorf("destroying the fork must leave the published repository alone: %w", err)
			}
			return nil
		},
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("vers_repo_fork.f", tfjsonpath.New("source_commit_id"), knownvalue.StringExact(published)),
				statecheck.CompareValuePairs("vers_build.app", tfjsonpath.New("base_commit_id"),
					"vers_repo_fork.f", tfjsonpath.New("commit_id"), compare.ValuesSame()),
			},
			Check: func(s *terraform.State) error {
				ctx := context.Background()
				commit := forkState(s, "vers_repo_fork.f", "commit_id")
				if commit == published {
					return fmt.Errorf("the fork must be a commit of the forking organisation, not the publisher's %s", published)
				}
				if _, err := c.CreateVMFromCommit(ctx, vers.FromCommitRequest{CommitID: published}); !vers.IsNotFound(err) {
					return fmt.Errorf("the publisher's commit must stay private to it (want 404), got %v", err)
				}
				if _, err := other.GetRepository(ctx, name); !vers.IsNotFound(err) {
					return fmt.Errorf("the fork must not appear in the publishing organisation, got %v", err)
				}
				if _, err := other.GetRepoTag(ctx, pub, "v1"); err != nil {
					return fmt.Errorf("forking must leave the published tag alone: %w", err)
				}
				return nil
			},
		}},
	})
}

// A repository that "other" keeps private cannot be forked from here, and
// the error says why and what to do.
func TestAccRepoFork_privateRepoOfAnotherOrganisation(t *testing.T) {
	other := otherOrgClient(t)
	priv := uniqueName(t, "private")
	publishIn(t, other, priv, false)
	name := uniqueName(t, "nope")
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      forkConfig(accOtherOrg+"/"+priv+":v1", name, ""),
			ExpectError: regexp.MustCompile(`(?s)Cannot fork.*is public.*private repository of\s+another\s+organisation\s+cannot\s+be\s+forked`),
		}},
	})
	if _, err := testClient(t).GetRepository(context.Background(), name); !vers.IsNotFound(err) {
		t.Fatalf("a refused fork must create nothing, got err=%v", err)
	}
}

// Out of the box: fork versd's built-in vers/base:latest, build FROM it.
func TestAccRepoFork_builtinBase(t *testing.T) {
	name := uniqueName(t, "base")
	cfg := fmt.Sprintf(`
resource "vers_repo_fork" "base" {
  source    = "vers/base:latest"
  repo_name = %q
}

resource "vers_build" "app" {
  context            = %q
  dockerfile_content = "FROM ${vers_repo_fork.base.reference}\nRUN echo hello > /hello\n"
}
`, name, t.TempDir())
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("vers_repo_fork.base", tfjsonpath.New("reference"), knownvalue.StringExact(name+":latest")),
				statecheck.CompareValuePairs("vers_build.app", tfjsonpath.New("base_commit_id"),
					"vers_repo_fork.base", tfjsonpath.New("commit_id"), compare.ValuesSame()),
			},
		}},
	})
}

// FROM another organisation's public image cannot work (its commit is
// private to that organisation); the plan says so and shows the fork.
func TestAccBuild_fromAnotherOrganisationSaysFork(t *testing.T) {
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
resource "vers_build" "app" {
  context            = %q
  dockerfile_content = "# base\nFROM vers/base:latest\nRUN true\n"
}
`, t.TempDir()),
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`(?s)Dockerfile:2: FROM vers/base:latest names a public repository.*resource "vers_repo_fork" "base".*source = "vers/base:latest"`),
		}},
	})
}
