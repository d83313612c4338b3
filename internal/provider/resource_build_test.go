package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// buildDockerfile has three layers; last.txt is read by the last one only.
const buildDockerfile = `FROM scratch
WORKDIR /app
COPY a.txt ./
RUN echo built > /built
CMD ["cat", "/app/a.txt"]
EXPOSE 80
COPY last.txt /app/
`

func buildContextDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{"Dockerfile": buildDockerfile, "a.txt": "a\n", "last.txt": "v1\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func buildConfig(dir string, extra string) string {
	return fmt.Sprintf(`
resource "vers_build" "b" {
  context   = %q
  vm_config = { vcpu_count = 1, mem_size_mib = 512, fs_size_mib = 1024 }
  %s
}
`, dir, extra)
}

// vmsBootedIs checks versd's count of VMs created since the last reset.
func vmsBootedIs(want int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if got := accServer.Stats().VMsCreated; got != want {
			return fmt.Errorf("versd booted %d VMs, want %d", got, want)
		}
		return nil
	}
}

func layerCached(i int, cached bool) statecheck.StateCheck {
	return statecheck.ExpectKnownValue("vers_build.b", tfjsonpath.New("layers").AtSliceIndex(i).AtMapKey("cached"), knownvalue.Bool(cached))
}

func captureAttr(name, attr string, into *string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		rs, ok := s.RootModule().Resources[name]
		if !ok {
			return fmt.Errorf("%s not in state", name)
		}
		*into = rs.Primary.Attributes[attr]
		return nil
	}
}

func TestAccBuild_cacheAcrossPlansAndRunners(t *testing.T) {
	testAccPreCheck(t)
	dir := buildContextDir(t)
	cfg := buildConfig(dir, "")
	sameCommit := statecheck.CompareValue(compare.ValuesSame())
	sameHash := statecheck.CompareValue(compare.ValuesSame())
	var built, rebuilt string
	empty := resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				PreConfig: accServer.ResetStats,
				Config:    cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vers_build.b", tfjsonpath.New("context_hash"), knownvalue.StringRegexp(regexp.MustCompile(`^sha256:[0-9a-f]{64}$`))),
					statecheck.ExpectKnownValue("vers_build.b", tfjsonpath.New("layers"), knownvalue.ListSizeExact(3)),
					statecheck.ExpectKnownValue("vers_build.b", tfjsonpath.New("layers").AtSliceIndex(1).AtMapKey("instruction"), knownvalue.StringExact("RUN echo built > /built")),
					statecheck.ExpectKnownValue("vers_build.b", tfjsonpath.New("layers").AtSliceIndex(1).AtMapKey("line"), knownvalue.Int64Exact(4)),
					statecheck.ExpectKnownValue("vers_build.b", tfjsonpath.New("image").AtMapKey("workdir"), knownvalue.StringExact("/app")),
					statecheck.ExpectKnownValue("vers_build.b", tfjsonpath.New("image").AtMapKey("cmd"),
						knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("cat"), knownvalue.StringExact("/app/a.txt")})),
					statecheck.ExpectKnownValue("vers_build.b", tfjsonpath.New("image").AtMapKey("exposed_ports"),
						knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("80/tcp")})),
					layerCached(0, false), layerCached(2, false),
					sameCommit.AddStateValue("vers_build.b", tfjsonpath.New("commit_id")),
					sameHash.AddStateValue("vers_build.b", tfjsonpath.New("context_hash")),
				},
				Check: resource.ComposeTestCheckFunc(vmsBootedIs(1), captureAttr("vers_build.b", "commit_id", &built),
					resource.TestCheckResourceAttrPair("vers_build.b", "id", "vers_build.b", "commit_id")),
			},
			{ // nothing changed
				Config: cfg, ConfigPlanChecks: empty,
				ConfigStateChecks: []statecheck.StateCheck{sameCommit.AddStateValue("vers_build.b", tfjsonpath.New("commit_id"))},
			},
			{ // mtime and a umask-only permission change are not content
				PreConfig: func() {
					later := time.Now().Add(time.Hour)
					if err := os.Chtimes(filepath.Join(dir, "a.txt"), later, later); err != nil {
						t.Fatal(err)
					}
					if err := os.Chmod(filepath.Join(dir, "last.txt"), 0o664); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg, ConfigPlanChecks: empty,
				ConfigStateChecks: []statecheck.StateCheck{
					sameCommit.AddStateValue("vers_build.b", tfjsonpath.New("commit_id")),
					sameHash.AddStateValue("vers_build.b", tfjsonpath.New("context_hash")),
				},
			},
			{ // a file only the last COPY reads: replace, one builder VM, earlier layers cached
				PreConfig: func() {
					if err := os.WriteFile(filepath.Join(dir, "last.txt"), []byte("v2\n"), 0o644); err != nil {
						t.Fatal(err)
					}
					accServer.ResetStats()
				},
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("vers_build.b", plancheck.ResourceActionReplace),
				}},
				ConfigStateChecks: []statecheck.StateCheck{layerCached(0, true), layerCached(1, true), layerCached(2, false)},
				Check: resource.ComposeTestCheckFunc(vmsBootedIs(1), captureAttr("vers_build.b", "commit_id", &rebuilt),
					func(*terraform.State) error {
						if rebuilt == built {
							return fmt.Errorf("the edited build kept commit %s", built)
						}
						return nil
					}),
			},
			{ // import by commit id adopts it
				ResourceName:      "vers_build.b",
				ImportState:       true,
				ImportStateIdFunc: func(*terraform.State) (string, error) { return rebuilt, nil },
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					if len(states) != 1 || states[0].Attributes["commit_id"] != rebuilt || states[0].Attributes["image.workdir"] != "/app" {
						return fmt.Errorf("imported %+v", states)
					}
					return nil
				},
			},
		},
	})

	// A new runner: fresh working directory, empty state, same files. The
	// cache is in Vers, so nothing is built; destroy above kept the commits.
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			PreConfig: accServer.ResetStats,
			Config:    cfg,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("vers_build.b", tfjsonpath.New("commit_id"), knownvalue.StringFunc(func(v string) error {
					if v != rebuilt {
						return fmt.Errorf("fresh runner built %s, the previous run %s", v, rebuilt)
					}
					return nil
				})),
				layerCached(0, true), layerCached(1, true), layerCached(2, true),
			},
			Check: vmsBootedIs(0),
		}},
	})
}

func TestAccBuild_destroyKeepsTaggedCommit(t *testing.T) {
	c := testClient(t)
	dir := buildContextDir(t)
	repo := uniqueName(t, "keep")
	var commit string
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: buildConfig(dir, "delete_commits_on_destroy = true"),
			Check: resource.ComposeTestCheckFunc(captureAttr("vers_build.b", "commit_id", &commit), func(*terraform.State) error {
				// Someone promotes the build outside this configuration.
				ctx := context.Background()
				if _, err := c.CreateRepository(ctx, vers.CreateRepositoryRequest{Name: repo}); err != nil {
					return err
				}
				_, err := c.CreateRepoTag(ctx, repo, vers.CreateRepoTagRequest{TagName: "prod", CommitID: commit})
				return err
			}),
		}},
		CheckDestroy: func(*terraform.State) error {
			commits, err := c.ListAllCommits(context.Background())
			if err != nil {
				return err
			}
			for _, ci := range commits {
				if ci.CommitID == commit {
					return nil
				}
			}
			return fmt.Errorf("destroy deleted commit %s although %s:prod points at it", commit, repo)
		},
	})
}

func TestAccBuild_planTimeErrors(t *testing.T) {
	dir := t.TempDir()
	inline := func(df, extra string) string {
		return fmt.Sprintf("resource \"vers_build\" \"b\" {\n  context = %q\n  dockerfile_content = %q\n  %s\n}\n", dir, df, extra)
	}
	vm := "vm_config = { vcpu_count = 1 }"
	cases := map[string]struct{ config, want string }{
		"ONBUILD":                   {inline("FROM scratch\nRUN true\nONBUILD RUN true\n", vm), `Dockerfile:3: ONBUILD`},
		"unknown target":            {inline("FROM base:v1 AS build\nRUN true\n", `target = "nope"`), `(?s)Dockerfile:1:.*no build.*stage.*named.*nope.*stages:.*build`},
		"digest FROM":               {inline("FROM node:24@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n", ""), `(?s)Dockerfile:1:.*digest.*is.*not.*a.*Vers.*reference`},
		"missing required secret":   {inline("FROM scratch\nRUN --mount=type=secret,id=t,required=true true\n", vm), `(?s)Dockerfile:2:.*id=t,required=true.*needs.*a.*value`},
		"later stage error shown":   {inline("FROM scratch AS a\nRUN true\nFROM a\nEXPOSE 0\n", vm), `Dockerfile:4: EXPOSE 0`},
		"FROM scratch no vm_config": {inline("FROM scratch\nRUN true\n", ""), `(?s)vm_config.*Dockerfile:1`},
		"missing COPY source":       {inline("FROM scratch\n\nCOPY missing.txt /\n", vm), `Dockerfile:3: COPY`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				PreCheck:                 func() { testAccPreCheck(t) },
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps:                    []resource.TestStep{{Config: tc.config, PlanOnly: true, ExpectError: regexp.MustCompile(tc.want)}},
			})
		})
	}
}

// A build FROM the repo:tag another vers_build was promoted to. The child's
// Dockerfile names the tag through resource attributes, so its inputs are
// unknown at the first plan: that must plan a create, not fail.
func TestAccBuild_fromTagOfAnotherBuild(t *testing.T) {
	testAccPreCheck(t)
	dir := buildContextDir(t)
	repo := uniqueName(t, "base")
	cfg := fmt.Sprintf(`
resource "vers_build" "base" {
  context   = %[1]q
  vm_config = { vcpu_count = 1, mem_size_mib = 512, fs_size_mib = 1024 }
}

resource "vers_repo" "r" {
  name = %[2]q
}

resource "vers_tag" "latest" {
  repo      = vers_repo.r.name
  name      = "latest"
  commit_id = vers_build.base.commit_id
}

resource "vers_build" "child" {
  context            = %[1]q
  dockerfile_content = "FROM ${vers_repo.r.name}:${vers_tag.latest.name}\nRUN pwd > /child-workdir && cat /built\n"
}
`, dir, repo)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.CompareValuePairs("vers_build.child", tfjsonpath.New("base_commit_id"),
						"vers_build.base", tfjsonpath.New("commit_id"), compare.ValuesSame()),
					// WORKDIR and CMD come from the base image.
					statecheck.ExpectKnownValue("vers_build.child", tfjsonpath.New("image").AtMapKey("workdir"), knownvalue.StringExact("/app")),
					statecheck.ExpectKnownValue("vers_build.child", tfjsonpath.New("image").AtMapKey("cmd"),
						knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("cat"), knownvalue.StringExact("/app/a.txt")})),
				},
			},
			{Config: cfg, ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
		},
	})
}

// Promoting a new base (moving the tag a build starts FROM) rebuilds the
// build on the new base, as `docker build --pull` would.
func TestAccBuild_rebuildsWhenBaseTagMoves(t *testing.T) {
	c := testClient(t)
	commits := makeCommits(t, c, 2)
	repo := uniqueName(t, "pull")
	ctx := context.Background()
	if _, err := c.CreateRepository(ctx, vers.CreateRepositoryRequest{Name: repo}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateRepoTag(ctx, repo, vers.CreateRepoTagRequest{TagName: "base", CommitID: commits[0]}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := fmt.Sprintf(`
resource "vers_build" "child" {
  context            = %q
  dockerfile_content = "FROM %s:base\nRUN cat /generation > /seen-generation\n"
}
`, dir, repo)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vers_build.child", tfjsonpath.New("base_commit_id"), knownvalue.StringExact(commits[0])),
				},
			},
			{
				PreConfig: func() {
					if err := c.UpdateRepoTag(ctx, repo, "base", vers.UpdateTagRequest{CommitID: commits[1]}); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("vers_build.child", plancheck.ResourceActionDestroyBeforeCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vers_build.child", tfjsonpath.New("base_commit_id"), knownvalue.StringExact(commits[1])),
				},
			},
			{Config: cfg, ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
		},
	})
}

// A stage split into its own build starts FROM another vers_build and uses
// the ENV that base defines: the plan resolves the base's image record so
// the expansions validate, and the apply builds with the same values.
func TestAccBuild_splitStageUsesBaseEnvAtPlan(t *testing.T) {
	testAccPreCheck(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "app.txt"), []byte("app\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	repo := uniqueName(t, "appbase")
	base := fmt.Sprintf(`
resource "vers_build" "base" {
  context            = %[1]q
  dockerfile_content = "FROM scratch\nENV APP_USER=1234 APP_HOME=/srv/app\nRUN mkdir -p /srv/app\n"
  vm_config          = { vcpu_count = 1, mem_size_mib = 512, fs_size_mib = 1024 }
}

resource "vers_repo" "r" {
  name = %[2]q
}

resource "vers_tag" "v1" {
  repo      = vers_repo.r.name
  name      = "v1"
  commit_id = vers_build.base.commit_id
}
`, dir, repo)
	child := base + fmt.Sprintf(`
resource "vers_build" "child" {
  context            = %[1]q
  dockerfile_content = "FROM %[2]s:v1\nCOPY --chown=\"$${APP_USER}\":\"$${APP_USER}\" app.txt $${APP_HOME}/\nRUN stat -c %%u:%%g $${APP_HOME}/app.txt > /owner\n"
}
`, dir, repo)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: base},
			{
				Config: child,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vers_build.child", tfjsonpath.New("layers").AtSliceIndex(0).AtMapKey("instruction"),
						knownvalue.StringRegexp(regexp.MustCompile(`COPY --chown=`))),
				},
				Check: func(s *terraform.State) error {
					commit := s.RootModule().Resources["vers_build.child"].Primary.Attributes["commit_id"]
					c := testClient(t)
					ctx := context.Background()
					vm, err := c.CreateVMFromCommit(ctx, vers.FromCommitRequest{CommitID: commit})
					if err != nil {
						return err
					}
					defer c.DeleteVM(context.Background(), vm.VMID) //nolint:errcheck
					if err := c.WaitForVMRunning(ctx, vm.VMID, 100*time.Millisecond); err != nil {
						return err
					}
					out, err := c.Exec(ctx, vm.VMID, vers.ExecRequest{Command: []string{"cat", "/owner"}})
					if err != nil {
						return err
					}
					if got := strings.TrimSpace(out.Stdout); got != "1234:1234" {
						return fmt.Errorf("owner %q, want 1234:1234 (the base APP_USER)", got)
					}
					return nil
				},
			},
		},
	})
}

// A multi-stage Dockerfile through Terraform: the target's image carries
// the metadata instructions, and changing `target` replaces the build.
func TestAccBuild_multiStageTargetAndMetadata(t *testing.T) {
	testAccPreCheck(t)
	dir := t.TempDir()
	df := "FROM scratch AS build\nRUN mkdir /out && echo bin > /out/app\n\n" +
		"FROM scratch AS runtime\nCOPY --from=build /out/app /usr/local/bin/app\nVOLUME /data\n" +
		"HEALTHCHECK --interval=5s CMD test -f /usr/local/bin/app\nSTOPSIGNAL SIGINT\nSHELL [\"/bin/sh\", \"-e\", \"-c\"]\nCMD app\n"
	cfg := func(target string) string {
		return fmt.Sprintf(`
resource "vers_build" "b" {
  context            = %q
  dockerfile_content = %q
  vm_config          = { vcpu_count = 1, mem_size_mib = 512, fs_size_mib = 1024 }
  %s
}
`, dir, df, target)
	}
	img := func(attr string, v knownvalue.Check) statecheck.StateCheck {
		return statecheck.ExpectKnownValue("vers_build.b", tfjsonpath.New("image").AtMapKey(attr), v)
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg(""),
				ConfigStateChecks: []statecheck.StateCheck{
					img("volumes", knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("/data")})),
					img("stop_signal", knownvalue.StringExact("SIGINT")),
					img("healthcheck", knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("CMD-SHELL"), knownvalue.StringExact("test -f /usr/local/bin/app")})),
					img("shell", knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("/bin/sh"), knownvalue.StringExact("-e"), knownvalue.StringExact("-c")})),
					// SHELL applies to the shell-form CMD after it.
					img("cmd", knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("/bin/sh"), knownvalue.StringExact("-e"), knownvalue.StringExact("-c"), knownvalue.StringExact("app")})),
					statecheck.ExpectKnownValue("vers_build.b", tfjsonpath.New("layers"), knownvalue.ListSizeExact(2)),
				},
			},
			{
				Config: cfg(`target = "build"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("vers_build.b", plancheck.ResourceActionReplace),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vers_build.b", tfjsonpath.New("layers"), knownvalue.ListSizeExact(1)),
					img("volumes", knownvalue.ListSizeExact(0)),
				},
			},
		},
	})
}
