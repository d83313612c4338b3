package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/vers-sh/terraform-provider-vers/internal/ref"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f-]{36}$`)

// accOrg is the test versd's (default) organisation.
const accOrg = "local"

// publicSource makes a public repository of the test server's own
// organisation with tag v1 on commit: the fork endpoint treats an
// org-qualified source like another organisation's, so it must be public.
func publicSource(t *testing.T, c *vers.Client, commit string) (repo, source string) {
	t.Helper()
	repo = uniqueName(t, "src")
	makeRepoTag(t, c, repo, "v1", commit)
	if err := c.SetRepositoryVisibility(context.Background(), repo, true); err != nil {
		t.Fatal(err)
	}
	return repo, accOrg + "/" + repo + ":v1"
}

// forkVM finds the VM a fork booted: the parent VM of the fork's commit.
func forkVM(c *vers.Client, commitID string) (string, error) {
	commits, err := c.ListAllCommits(context.Background())
	if err != nil {
		return "", err
	}
	for _, cm := range commits {
		if cm.CommitID == commitID && cm.ParentVMID != nil {
			return *cm.ParentVMID, nil
		}
	}
	return "", fmt.Errorf("commit %s (with a parent VM) not found", commitID)
}

// vmExists asks versd whether a VM is still there.
func vmExists(c *vers.Client, id string) (bool, error) {
	_, err := c.GetVMStatus(context.Background(), id)
	if vers.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// forkState reads an attribute of the fork from Terraform state.
func forkState(s *terraform.State, addr, attr string) string {
	return s.RootModule().Resources[addr].Primary.Attributes[attr]
}

func forkVMGone(c *vers.Client, addr string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		vm, err := forkVM(c, forkState(s, addr, "commit_id"))
		if err != nil {
			return err
		}
		if ok, err := vmExists(c, vm); err != nil || ok {
			return fmt.Errorf("the VM %s the fork booted must be deleted (exists=%t, err=%v)", vm, ok, err)
		}
		return nil
	}
}

func forkConfig(source, repoName, extra string) string {
	return fmt.Sprintf(`
resource "vers_repo_fork" "f" {
  source    = %q
  repo_name = %q
%s
}
`, source, repoName, extra)
}

func TestAccRepoFork_lifecycle(t *testing.T) {
	c := testClient(t)
	ch := sharedChain(t)
	ctx := context.Background()
	srcRepo, source := publicSource(t, c, ch.Root)
	name := uniqueName(t, "fork")
	reference := name + ":v1"
	var firstCommit, keptVM string

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if _, err := c.GetRepository(ctx, name); !vers.IsNotFound(err) {
				return fmt.Errorf("repository %s must be deleted with the fork (err=%v)", name, err)
			}
			if _, err := c.GetRepoTag(ctx, srcRepo, "v1"); err != nil {
				return fmt.Errorf("destroying a fork must not touch its source: %w", err)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: forkConfig(source, name, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vers_repo_fork.f", tfjsonpath.New("id"), knownvalue.StringExact(reference)),
					statecheck.ExpectKnownValue("vers_repo_fork.f", tfjsonpath.New("reference"), knownvalue.StringExact(reference)),
					statecheck.ExpectKnownValue("vers_repo_fork.f", tfjsonpath.New("repo"), knownvalue.StringExact(name)),
					statecheck.ExpectKnownValue("vers_repo_fork.f", tfjsonpath.New("tag"), knownvalue.StringExact("v1")),
					statecheck.ExpectKnownValue("vers_repo_fork.f", tfjsonpath.New("tag_name"), knownvalue.StringExact("v1")),
					statecheck.ExpectKnownValue("vers_repo_fork.f", tfjsonpath.New("commit_id"), knownvalue.StringRegexp(uuidRE)),
					statecheck.ExpectKnownValue("vers_repo_fork.f", tfjsonpath.New("source_commit_id"), knownvalue.StringExact(ch.Root)),
					statecheck.ExpectKnownValue("vers_repo_fork.f", tfjsonpath.New("vm_id"), knownvalue.Null()),
					statecheck.ExpectKnownValue("vers_repo_fork.f", tfjsonpath.New("keep_vm"), knownvalue.Bool(false)),
				},
				Check: resource.ComposeTestCheckFunc(
					forkVMGone(c, "vers_repo_fork.f"),
					func(s *terraform.State) error {
						firstCommit = forkState(s, "vers_repo_fork.f", "commit_id")
						if firstCommit == ch.Root {
							return fmt.Errorf("a fork must make a commit of its own, got the source's %s", ch.Root)
						}
						tag, err := c.GetRepoTag(ctx, name, "v1")
						if err != nil || tag.CommitID != firstCommit {
							return fmt.Errorf("versd must hold %s -> %s, got %+v, %v", reference, firstCommit, tag, err)
						}
						return nil
					}),
			},
			{
				ResourceName:            "vers_repo_fork.f",
				ImportState:             true,
				ImportStateId:           reference,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"source", "source_commit_id"}, // Vers does not record a fork's origin
			},
			{ // the source moves: the plan keeps the fork (it warns instead)
				PreConfig: func() {
					if err := c.UpdateRepoTag(ctx, srcRepo, "v1", vers.UpdateTagRequest{CommitID: ch.Leaf}); err != nil {
						t.Fatal(err)
					}
				},
				Config:           forkConfig(source, name, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{ // someone moves the forked tag: refresh reports it, nothing re-forks
				PreConfig: func() {
					if err := c.UpdateRepoTag(ctx, name, "v1", vers.UpdateTagRequest{CommitID: ch.Middle}); err != nil {
						t.Fatal(err)
					}
				},
				Config:           forkConfig(source, name, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vers_repo_fork.f", tfjsonpath.New("commit_id"), knownvalue.StringExact(ch.Middle)),
				},
			},
			{ // adding triggers records them
				Config: forkConfig(source, name, `  triggers = { base = "2026-11" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("vers_repo_fork.f", plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vers_repo_fork.f", tfjsonpath.New("commit_id"), knownvalue.StringExact(ch.Middle)),
				},
			},
			{ // changing them forks the moved source anew, with the VM kept
				Config: forkConfig(source, name, "  triggers = { base = \"2026-12\" }\n  keep_vm = true"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("vers_repo_fork.f", plancheck.ResourceActionDestroyBeforeCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vers_repo_fork.f", tfjsonpath.New("source_commit_id"), knownvalue.StringExact(ch.Leaf)),
					statecheck.ExpectKnownValue("vers_repo_fork.f", tfjsonpath.New("vm_id"), knownvalue.StringRegexp(uuidRE)),
				},
				Check: func(s *terraform.State) error {
					keptVM = forkState(s, "vers_repo_fork.f", "vm_id")
					commit := forkState(s, "vers_repo_fork.f", "commit_id")
					if commit == firstCommit || commit == ch.Middle {
						return fmt.Errorf("changing triggers must fork again, commit_id is still %s", commit)
					}
					if vm, err := forkVM(c, commit); err != nil || vm != keptVM {
						return fmt.Errorf("vm_id %s must be the VM the fork booted (%s, %v)", keptVM, vm, err)
					}
					if ok, err := vmExists(c, keptVM); !ok {
						return fmt.Errorf("keep_vm must keep VM %s (err=%v)", keptVM, err)
					}
					return nil
				},
			},
			{ // turning keep_vm off deletes the VM in place
				Config: forkConfig(source, name, "  triggers = { base = \"2026-12\" }\n  keep_vm = false"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("vers_repo_fork.f", plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vers_repo_fork.f", tfjsonpath.New("vm_id"), knownvalue.Null()),
				},
				Check: func(*terraform.State) error {
					if ok, err := vmExists(c, keptVM); ok || err != nil {
						return fmt.Errorf("VM %s must be deleted once keep_vm is off (exists=%t, err=%v)", keptVM, ok, err)
					}
					return nil
				},
			},
			{ // a new tag_name is a new fork
				Config: forkConfig(source, name, "  triggers = { base = \"2026-12\" }\n  tag_name = \"pinned\""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("vers_repo_fork.f", plancheck.ResourceActionDestroyBeforeCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vers_repo_fork.f", tfjsonpath.New("reference"), knownvalue.StringExact(name+":pinned")),
				},
				Check: func(*terraform.State) error {
					if _, err := c.GetRepoTag(ctx, name, "v1"); !vers.IsNotFound(err) {
						return fmt.Errorf("the replaced fork's tag %s must be deleted (err=%v)", reference, err)
					}
					return nil
				},
			},
		},
	})
}

// keep_on_destroy leaves the fork (and a kept VM) in Vers.
func TestAccRepoFork_keepOnDestroy(t *testing.T) {
	c := testClient(t)
	ctx := context.Background()
	_, source := publicSource(t, c, sharedChain(t).Root)
	name := uniqueName(t, "kept")
	var vm string
	t.Cleanup(func() {
		_ = c.DeleteRepository(ctx, name)
		if vm != "" {
			_, _ = c.DeleteVM(ctx, vm)
		}
	})
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if _, err := c.GetRepoTag(ctx, name, "v1"); err != nil {
				return fmt.Errorf("keep_on_destroy must keep %s:v1: %w", name, err)
			}
			if ok, err := vmExists(c, vm); !ok {
				return fmt.Errorf("keep_on_destroy must keep the kept VM %s (err=%v)", vm, err)
			}
			return nil
		},
		Steps: []resource.TestStep{{
			Config: forkConfig(source, name, "  keep_vm = true\n  keep_on_destroy = true"),
			Check: func(s *terraform.State) error {
				vm = forkState(s, "vers_repo_fork.f", "vm_id")
				return nil
			},
		}},
	})
}

// Forking into a repository that holds other tags: destroy deletes only
// the forked tag.
func TestAccRepoFork_destroyKeepsOtherTags(t *testing.T) {
	c := testClient(t)
	ctx := context.Background()
	ch := sharedChain(t)
	_, source := publicSource(t, c, ch.Root)
	name := uniqueName(t, "shared")
	makeRepoTag(t, c, name, "app-build", ch.Leaf)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if _, err := c.GetRepoTag(ctx, name, "v1"); !vers.IsNotFound(err) {
				return fmt.Errorf("destroy must delete the forked tag (err=%v)", err)
			}
			if tag, err := c.GetRepoTag(ctx, name, "app-build"); err != nil || tag.CommitID != ch.Leaf {
				return fmt.Errorf("destroy must keep the repository's other tag: %+v, %v", tag, err)
			}
			return nil
		},
		Steps: []resource.TestStep{{
			Config: forkConfig(source, name, ""),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("vers_repo_fork.f", tfjsonpath.New("reference"), knownvalue.StringExact(name+":v1")),
			},
		}},
	})
}

// A fork made outside Terraform is imported; the first plan records the
// configured source in place instead of forking again.
func TestAccRepoFork_importThenAdopt(t *testing.T) {
	c := testClient(t)
	ctx := context.Background()
	srcRepo, source := publicSource(t, c, sharedChain(t).Root)
	name := uniqueName(t, "adopt")
	out, err := c.ForkRepository(ctx, vers.ForkRepositoryRequest{SourceOrg: accOrg, SourceRepo: srcRepo, SourceTag: "v1", RepoName: name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.DeleteRepository(ctx, name) })
	if _, err := c.DeleteVM(ctx, out.VMID); err != nil {
		t.Fatal(err)
	}
	cfg := forkConfig(source, name, "")
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:             cfg,
				ResourceName:       "vers_repo_fork.f",
				ImportState:        true,
				ImportStateId:      name + ":v1",
				ImportStatePersist: true,
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					if len(states) != 1 || states[0].Attributes["commit_id"] != out.CommitID {
						return fmt.Errorf("import must read the fork's commit %s, got %+v", out.CommitID, states)
					}
					return nil
				},
			},
			{
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("vers_repo_fork.f", plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vers_repo_fork.f", tfjsonpath.New("source"), knownvalue.StringExact(source)),
					statecheck.ExpectKnownValue("vers_repo_fork.f", tfjsonpath.New("commit_id"), knownvalue.StringExact(out.CommitID)),
				},
			},
			{Config: cfg, ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
		},
	})
}

func TestAccRepoFork_errors(t *testing.T) {
	c := testClient(t)
	ch := sharedChain(t)
	_, source := publicSource(t, c, ch.Root)
	taken := uniqueName(t, "taken")
	makeRepoTag(t, c, taken, "v1", ch.Leaf)
	org := accOrg

	cases := map[string]struct{ config, want string }{
		"no organisation": {forkConfig("base:latest", "x", ""), `names no organisation; write it as org/repo:tag`},
		"no tag":          {forkConfig("vers/base", "x", ""), `has no tag`},
		"bad repo_name":   {forkConfig(source, "no/slash", ""), `may contain only letters`},
		"tag exists": {forkConfig(source, taken, ""),
			`(?s)already exists in your organisation.*terraform import <address>\s+` + regexp.QuoteMeta(taken+":v1")},
		"missing": {forkConfig(org+"/no-such-repo:v1", uniqueName(t, "x"), ""), `Cannot fork`},
	}
	for label, tc := range cases {
		t.Run(label, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				PreCheck:                 func() { testAccPreCheck(t) },
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps:                    []resource.TestStep{{Config: tc.config, ExpectError: regexp.MustCompile(tc.want)}},
			})
		})
	}
	// The refused fork into an existing tag left it alone.
	if tag, err := c.GetRepoTag(context.Background(), taken, "v1"); err != nil || tag.CommitID != ch.Leaf {
		t.Fatalf("a refused fork must not touch the existing tag: %+v, %v", tag, err)
	}
}

// The fork-then-build path: build FROM the fork's reference. The build's RUN
// fails unless the fork carries the source commit's files.
func TestAccRepoFork_thenBuild(t *testing.T) {
	c := testClient(t)
	_, source := publicSource(t, c, sharedChain(t).Root)
	name := uniqueName(t, "base")
	cfg := forkConfig(source, name, "") + fmt.Sprintf(`
resource "vers_build" "app" {
  context            = %q
  dockerfile_content = "FROM ${vers_repo_fork.f.reference}\nRUN test -s /generation && cp /generation /from-fork\n"
}
`, t.TempDir())
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.CompareValuePairs("vers_build.app", tfjsonpath.New("base_commit_id"),
						"vers_repo_fork.f", tfjsonpath.New("commit_id"), compare.ValuesSame()),
					statecheck.ExpectKnownValue("vers_build.app", tfjsonpath.New("commit_id"), knownvalue.StringRegexp(uuidRE)),
				},
			},
			{Config: cfg, ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
		},
	})
}

func TestForkAdviceNamesTheImportID(t *testing.T) {
	err := &vers.APIError{StatusCode: 409, Message: "Tag name already exists"}
	got := forkAdvice(err, ref.Ref{Org: "acme", Repo: "base", Tag: "v1"}, "base", "v1")
	if !strings.Contains(got, "terraform import <address> base:v1") {
		t.Fatalf("advice %q must name the import ID", got)
	}
}

func TestSameForkTellsReplacementsApart(t *testing.T) {
	base := repoForkModel{
		Source: types.StringValue("acme/base:v1"), RepoName: types.StringValue("base"), TagName: types.StringValue("v1"),
		KeepVM: types.BoolValue(false), Triggers: types.MapNull(types.StringType),
	}
	trig := func(v string) types.Map {
		return types.MapValueMust(types.StringType, map[string]attr.Value{"k": types.StringValue(v)})
	}
	cases := []struct {
		name        string
		plan, state func(*repoForkModel)
		same        bool
	}{
		{"nothing changed", nil, nil, true},
		{"source changed", func(m *repoForkModel) { m.Source = types.StringValue("acme/base:v2") }, nil, false},
		{"source recorded after import", nil, func(m *repoForkModel) { m.Source = types.StringNull() }, true},
		{"triggers added", func(m *repoForkModel) { m.Triggers = trig("a") }, nil, true},
		{"triggers changed", func(m *repoForkModel) { m.Triggers = trig("b") }, func(m *repoForkModel) { m.Triggers = trig("a") }, false},
		{"tag_name changed", func(m *repoForkModel) { m.TagName = types.StringValue("v9") }, nil, false},
		{"repo_name changed", func(m *repoForkModel) { m.RepoName = types.StringValue("other") }, nil, false},
		{"keep_vm turned on", func(m *repoForkModel) { m.KeepVM = types.BoolValue(true) }, nil, false},
		{"keep_vm turned off", nil, func(m *repoForkModel) { m.KeepVM = types.BoolValue(true) }, true},
	}
	for _, c := range cases {
		plan, state := base, base
		if c.plan != nil {
			c.plan(&plan)
		}
		if c.state != nil {
			c.state(&state)
		}
		if got := sameFork(plan, state); got != c.same {
			t.Errorf("%s: sameFork = %v, want %v", c.name, got, c.same)
		}
	}
}
