package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// commitChain is three commits made on versd directly: Root from a fresh
// VM, Middle from a VM started from Root, Leaf from a VM started from
// Middle. Their names share Prefix, so tests can filter on it.
type commitChain struct {
	Prefix             string
	Root, Middle, Leaf string
	RootVM             string // the VM Root was taken from
}

var (
	chainOnce sync.Once
	chain     commitChain
	chainErr  error
)

// sharedChain builds the chain once per test binary: booting VMs is the
// slow part of these tests, and commits outlive the VMs they came from.
func sharedChain(t *testing.T) commitChain {
	t.Helper()
	c := testClient(t)
	chainOnce.Do(func() { chain, chainErr = buildChain(c) })
	if chainErr != nil {
		t.Fatalf("cannot build the shared commit chain: %v", chainErr)
	}
	return chain
}

func buildChain(c *vers.Client) (commitChain, error) {
	ctx := context.Background()
	ch := commitChain{Prefix: fmt.Sprintf("chain%d", uniqueSuffix())}
	var vms []string
	defer func() {
		for _, id := range vms {
			_, _ = c.DeleteVM(context.Background(), id)
		}
	}()
	commitFrom := func(vmID, label string) (string, error) {
		vms = append(vms, vmID)
		if err := c.WaitForVMRunning(ctx, vmID, 0); err != nil {
			return "", err
		}
		if _, err := c.Exec(ctx, vmID, vers.ExecRequest{Command: []string{"sh", "-c", "echo " + label + " > /generation"}}); err != nil {
			return "", err
		}
		out, err := c.CommitVM(ctx, vmID, vers.CommitRequest{Name: ch.Prefix + "-" + label}, vers.CommitOptions{})
		if err != nil {
			return "", err
		}
		return out.CommitID, nil
	}
	one := int64(1)
	root, err := c.CreateVMNewRoot(ctx, vers.NewRootRequest{VMConfig: vers.VMConfig{VcpuCount: &one}}, true)
	if err != nil {
		return ch, err
	}
	ch.RootVM = root.VMID
	if ch.Root, err = commitFrom(root.VMID, "root"); err != nil {
		return ch, err
	}
	parent := ch.Root
	for _, label := range []string{"middle", "leaf"} {
		vm, err := c.CreateVMFromCommit(ctx, vers.FromCommitRequest{CommitID: parent})
		if err != nil {
			return ch, err
		}
		if parent, err = commitFrom(vm.VMID, label); err != nil {
			return ch, err
		}
		if label == "middle" {
			ch.Middle = parent
		} else {
			ch.Leaf = parent
		}
	}
	return ch, nil
}

var suffixMu sync.Mutex
var suffixN int

// uniqueSuffix is uniqueName without a *testing.T, for shared fixtures.
func uniqueSuffix() int {
	suffixMu.Lock()
	defer suffixMu.Unlock()
	suffixN++
	return suffixN*1_000_000 + int(time.Now().UnixNano()%1_000_000)
}

// makeRepoTag creates a repository with one tag through the API and removes
// the repository when the test ends.
func makeRepoTag(t *testing.T, c *vers.Client, repo, tag, commit string) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.CreateRepository(ctx, vers.CreateRepositoryRequest{Name: repo}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.DeleteRepository(context.Background(), repo) })
	if tag != "" {
		if _, err := c.CreateRepoTag(ctx, repo, vers.CreateRepoTagRequest{TagName: tag, CommitID: commit}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAccCommitDataSources(t *testing.T) {
	ch := sharedChain(t)
	c := testClient(t)
	repo := uniqueName(t, "dscommit")
	makeRepoTag(t, c, repo, "latest", ch.Leaf)
	// Make Middle public so the is_public filter has something to tell apart.
	if _, err := c.UpdateCommit(context.Background(), ch.Middle, vers.UpdateCommitRequest{IsPublic: true}); err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf(`
data "vers_commit" "by_id" {
  commit_id = %[1]q
}

data "vers_commit" "by_ref" {
  ref = "%[2]s:latest"
}

data "vers_commits" "chain" {
  name_prefix = %[3]q
}

data "vers_commits" "chain_public" {
  name_prefix = %[3]q
  is_public   = true
}

data "vers_commits" "chain_private" {
  name_prefix = %[3]q
  is_public   = false
}

data "vers_commits" "nothing" {
  name_prefix = "%[3]s-no-such-commit"
}

data "vers_commit_lineage" "leaf" {
  commit_id = %[4]q
}
`, ch.Root, repo, ch.Prefix, ch.Leaf)

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: config,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.vers_commit.by_id", tfjsonpath.New("name"), knownvalue.StringExact(ch.Prefix+"-root")),
				statecheck.ExpectKnownValue("data.vers_commit.by_id", tfjsonpath.New("parent_vm_id"), knownvalue.StringExact(ch.RootVM)),
				statecheck.ExpectKnownValue("data.vers_commit.by_id", tfjsonpath.New("grandparent_commit_id"), knownvalue.Null()),
				statecheck.ExpectKnownValue("data.vers_commit.by_id", tfjsonpath.New("is_public"), knownvalue.Bool(false)),
				statecheck.ExpectKnownValue("data.vers_commit.by_id", tfjsonpath.New("created_at"), knownvalue.NotNull()),
				statecheck.ExpectKnownValue("data.vers_commit.by_id", tfjsonpath.New("image"), knownvalue.Null()),

				statecheck.ExpectKnownValue("data.vers_commit.by_ref", tfjsonpath.New("commit_id"), knownvalue.StringExact(ch.Leaf)),
				statecheck.ExpectKnownValue("data.vers_commit.by_ref", tfjsonpath.New("name"), knownvalue.StringExact(ch.Prefix+"-leaf")),
				statecheck.ExpectKnownValue("data.vers_commit.by_ref", tfjsonpath.New("grandparent_commit_id"), knownvalue.StringExact(ch.Middle)),

				// newest first
				statecheck.ExpectKnownValue("data.vers_commits.chain", tfjsonpath.New("ids"),
					knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(ch.Leaf), knownvalue.StringExact(ch.Middle), knownvalue.StringExact(ch.Root)})),
				statecheck.ExpectKnownValue("data.vers_commits.chain", tfjsonpath.New("commits").AtSliceIndex(1).AtMapKey("name"),
					knownvalue.StringExact(ch.Prefix+"-middle")),
				statecheck.ExpectKnownValue("data.vers_commits.chain_public", tfjsonpath.New("ids"),
					knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(ch.Middle)})),
				statecheck.ExpectKnownValue("data.vers_commits.chain_private", tfjsonpath.New("ids"),
					knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(ch.Leaf), knownvalue.StringExact(ch.Root)})),

				// no match is an empty list, not null, so length() works on it
				statecheck.ExpectKnownValue("data.vers_commits.nothing", tfjsonpath.New("ids"), knownvalue.ListSizeExact(0)),
				statecheck.ExpectKnownValue("data.vers_commits.nothing", tfjsonpath.New("commits"), knownvalue.ListSizeExact(0)),

				// the commit itself, then its ancestors down to the root
				statecheck.ExpectKnownValue("data.vers_commit_lineage.leaf", tfjsonpath.New("ids"),
					knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(ch.Leaf), knownvalue.StringExact(ch.Middle), knownvalue.StringExact(ch.Root)})),
				statecheck.ExpectKnownValue("data.vers_commit_lineage.leaf", tfjsonpath.New("parents").AtSliceIndex(2).AtMapKey("name"),
					knownvalue.StringExact(ch.Prefix+"-root")),
			},
		}},
	})
}

func TestAccCommitDataSource_badInput(t *testing.T) {
	ch := sharedChain(t)
	cases := map[string]struct{ config, want string }{
		"both commit_id and ref": {fmt.Sprintf(`data "vers_commit" "x" {
  commit_id = %q
  ref       = "app:latest"
}`, ch.Root), `(?s)commit_id.*ref|ref.*commit_id`},
		"neither":           {`data "vers_commit" "x" {}`, `(?s)commit_id.*ref|ref.*commit_id`},
		"malformed ref":     {`data "vers_commit" "x" { ref = "no-tag-here" }`, `(?i)ref`},
		"unknown commit":    {`data "vers_commit" "x" { commit_id = "0c0ffee0-0000-4000-8000-00000000dead" }`, `Commit not found`},
		"unknown repo:tag":  {`data "vers_commit" "x" { ref = "no-such-repo-xyz:latest" }`, `Cannot resolve ref`},
		"malformed lineage": {`data "vers_commit_lineage" "x" { commit_id = "not-a-commit" }`, `commit id`},
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

// commitListings is a plan check that counts, at the moment the plan is
// done, how many commit-list requests versd served since ResetStats.
type commitListings struct {
	want *int
}

func (c commitListings) CheckPlan(_ context.Context, _ plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	got := accServer.Stats().Requests["GET /api/v1/commits"]
	if got != *c.want {
		resp.Error = fmt.Errorf("planning 30 vers_commit data sources listed commits %d times, want %d (one listing of %d page(s))", got, *c.want, *c.want)
	}
}

func TestAccCommitDataSource_listsOncePerOperation(t *testing.T) {
	ch := sharedChain(t)
	c := testClient(t)
	ids := []string{ch.Root, ch.Middle, ch.Leaf}
	var b strings.Builder
	for i := 0; i < 30; i++ {
		fmt.Fprintf(&b, "data \"vers_commit\" \"c%d\" {\n  commit_id = %q\n}\n", i, ids[i%3])
	}
	pages := 0
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			PreConfig: func() {
				// One listing takes ceil(total/100) requests (the client's page size).
				list, err := c.ListCommits(context.Background(), 1, 0)
				if err != nil {
					t.Fatal(err)
				}
				pages = int((list.Total + 99) / 100)
				accServer.ResetStats()
			},
			Config:           b.String(),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{commitListings{want: &pages}}},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.vers_commit.c0", tfjsonpath.New("name"), knownvalue.StringExact(ch.Prefix+"-root")),
				statecheck.ExpectKnownValue("data.vers_commit.c29", tfjsonpath.New("name"), knownvalue.StringExact(ch.Prefix+"-leaf")),
			},
		}},
	})
}
