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

func vmFromCommitConfig(commit, state, labels string) string {
	return fmt.Sprintf(`
resource "vers_vm" "v" {
  commit_id = %q
  state     = %q
  labels    = %s
}
`, commit, state, labels)
}

// vmIDFrom reads the VM id Terraform recorded.
func vmIDFrom(s *terraform.State, address string) (string, error) {
	rs, ok := s.RootModule().Resources[address]
	if !ok || rs.Primary == nil || rs.Primary.ID == "" {
		return "", fmt.Errorf("%s is not in state", address)
	}
	return rs.Primary.ID, nil
}

// remoteVMState checks the VM's state on versd, not in Terraform's state.
func remoteVMState(c *vers.Client, want string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		id, err := vmIDFrom(s, "vers_vm.v")
		if err != nil {
			return err
		}
		meta, err := c.GetVMMetadata(context.Background(), id)
		if err != nil {
			return err
		}
		if meta.State != want {
			return fmt.Errorf("versd reports VM %s as %q, want %q", id, meta.State, want)
		}
		return nil
	}
}

// execWorks runs a command in the VM through the API; paused VMs must
// refuse it with 409 Conflict.
func execWorks(c *vers.Client, wantOK bool) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		id, err := vmIDFrom(s, "vers_vm.v")
		if err != nil {
			return err
		}
		_, err = c.Exec(context.Background(), id, vers.ExecRequest{Command: []string{"true"}})
		switch {
		case wantOK && err != nil:
			return fmt.Errorf("exec in the resumed VM failed: %w", err)
		case !wantOK && err == nil:
			return fmt.Errorf("exec in VM %s succeeded although Terraform paused it", id)
		case !wantOK && !vers.IsConflict(err) && !strings.Contains(err.Error(), "paused"):
			return fmt.Errorf("exec in the paused VM failed for the wrong reason: %w", err)
		}
		return nil
	}
}

// remoteLabels checks the labels versd reports in the VM's status.
func remoteLabels(c *vers.Client, want map[string]string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		id, err := vmIDFrom(s, "vers_vm.v")
		if err != nil {
			return err
		}
		st, err := c.GetVMStatus(context.Background(), id)
		if err != nil {
			return err
		}
		if len(st.Labels) != len(want) {
			return fmt.Errorf("versd has labels %v on VM %s, want %v", st.Labels, id, want)
		}
		for k, v := range want {
			if st.Labels[k] != v {
				return fmt.Errorf("versd has labels %v on VM %s, want %v", st.Labels, id, want)
			}
		}
		return nil
	}
}

func TestAccVM_fromCommitLifecycle(t *testing.T) {
	c := testClient(t)
	ch := sharedChain(t)
	inPlace := []plancheck.PlanCheck{plancheck.ExpectResourceAction("vers_vm.v", plancheck.ResourceActionUpdate)}
	var firstID string

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(s *terraform.State) error {
			for _, rs := range s.RootModule().Resources {
				meta, err := c.GetVMMetadata(context.Background(), rs.Primary.ID)
				if err == nil && meta.DeletedAt == nil && meta.State != vers.VMStateDead {
					return fmt.Errorf("VM %s still exists after destroy (state %q)", rs.Primary.ID, meta.State)
				}
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: vmFromCommitConfig(ch.Root, "running", `{ env = "test" }`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vers_vm.v", tfjsonpath.New("source_commit_id"), knownvalue.StringExact(ch.Root)),
					statecheck.ExpectKnownValue("vers_vm.v", tfjsonpath.New("parent_commit_id"), knownvalue.StringExact(ch.Root)),
					statecheck.ExpectKnownValue("vers_vm.v", tfjsonpath.New("state"), knownvalue.StringExact("running")),
					statecheck.ExpectKnownValue("vers_vm.v", tfjsonpath.New("ip"), knownvalue.NotNull()),
					statecheck.ExpectKnownValue("vers_vm.v", tfjsonpath.New("created_at"), knownvalue.NotNull()),
					statecheck.ExpectKnownValue("vers_vm.v", tfjsonpath.New("ssh_host"),
						knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f-]{36}\.`+regexp.QuoteMeta(accServer.VMDomain)+`$`))),
				},
				Check: resource.ComposeTestCheckFunc(remoteVMState(c, vers.VMStateRunning), execWorks(c, true),
					remoteLabels(c, map[string]string{"env": "test"}),
					func(s *terraform.State) (err error) { firstID, err = vmIDFrom(s, "vers_vm.v"); return err }),
			},
			{ // labels change in place
				Config:           vmFromCommitConfig(ch.Root, "running", `{ env = "prod", team = "a" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: inPlace},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vers_vm.v", tfjsonpath.New("labels"),
						knownvalue.MapExact(map[string]knownvalue.Check{"env": knownvalue.StringExact("prod"), "team": knownvalue.StringExact("a")})),
				},
				Check: remoteLabels(c, map[string]string{"env": "prod", "team": "a"}),
			},
			{ // pause in place: versd really stops the VM
				Config:           vmFromCommitConfig(ch.Root, "paused", `{ env = "prod", team = "a" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: inPlace},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vers_vm.v", tfjsonpath.New("state"), knownvalue.StringExact("paused")),
				},
				Check: resource.ComposeTestCheckFunc(remoteVMState(c, vers.VMStatePaused), execWorks(c, false)),
			},
			{ // resume in place
				Config:           vmFromCommitConfig(ch.Root, "running", `{ env = "prod", team = "a" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: inPlace},
				Check:            resource.ComposeTestCheckFunc(remoteVMState(c, vers.VMStateRunning), execWorks(c, true)),
			},
			{ // paused outside Terraform: the next plan resumes it in place
				PreConfig: func() {
					if err := c.SetVMState(context.Background(), firstID, vers.VMTargetPaused); err != nil {
						t.Fatal(err)
					}
				},
				Config:           vmFromCommitConfig(ch.Root, "running", `{ env = "prod", team = "a" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: inPlace},
				Check:            resource.ComposeTestCheckFunc(remoteVMState(c, vers.VMStateRunning), execWorks(c, true)),
			},
			{ // labels changed outside Terraform: the next plan puts them back in place
				PreConfig: func() {
					if err := c.SetVMLabels(context.Background(), firstID, map[string]string{"env": "dev"}); err != nil {
						t.Fatal(err)
					}
				},
				Config:           vmFromCommitConfig(ch.Root, "running", `{ env = "prod", team = "a" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: inPlace},
				Check:            remoteLabels(c, map[string]string{"env": "prod", "team": "a"}),
			},
			{
				ResourceName:      "vers_vm.v",
				ImportState:       true,
				ImportStateVerify: true,
				// The API does not report how a VM was requested (commit_id).
				ImportStateVerifyIgnore: []string{"commit_id", "timeouts"},
			},
			{ // deleted outside Terraform: the next plan creates it again
				PreConfig: func() {
					if _, err := c.DeleteVM(context.Background(), firstID); err != nil {
						t.Fatal(err)
					}
				},
				Config: vmFromCommitConfig(ch.Root, "running", `{ env = "prod", team = "a" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("vers_vm.v", plancheck.ResourceActionCreate),
				}},
				Check: resource.ComposeTestCheckFunc(remoteVMState(c, vers.VMStateRunning), remoteLabels(c, map[string]string{"env": "prod", "team": "a"}), func(s *terraform.State) error {
					id, err := vmIDFrom(s, "vers_vm.v")
					if err == nil && id == firstID {
						err = fmt.Errorf("the VM was not recreated: still %s", id)
					}
					return err
				}),
			},
			{ // removing the labels clears them on versd
				Config:           vmFromCommitConfig(ch.Root, "running", "null"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: inPlace},
				Check:            remoteLabels(c, map[string]string{}),
			},
		},
	})
}

func vmFromRefConfig(repo string, second bool) string {
	cfg := fmt.Sprintf(`
resource "vers_vm" "v" {
  ref = "%s:latest"
}
`, repo)
	if second {
		cfg += fmt.Sprintf(`
resource "vers_vm" "after_move" {
  ref = "%s:latest"
}
`, repo)
	}
	return cfg
}

func TestAccVM_fromRefResolvedOnce(t *testing.T) {
	c := testClient(t)
	ch := sharedChain(t)
	repo := uniqueName(t, "vmref")
	makeRepoTag(t, c, repo, "latest", ch.Root)

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: vmFromRefConfig(repo, false),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vers_vm.v", tfjsonpath.New("source_commit_id"), knownvalue.StringExact(ch.Root)),
					statecheck.ExpectKnownValue("vers_vm.v", tfjsonpath.New("parent_commit_id"), knownvalue.StringExact(ch.Root)),
				},
			},
			{ // moving the tag does not touch the VM
				PreConfig: func() {
					if err := c.UpdateRepoTag(context.Background(), repo, "latest", vers.UpdateTagRequest{CommitID: ch.Middle}); err != nil {
						t.Fatal(err)
					}
				},
				Config:           vmFromRefConfig(repo, false),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vers_vm.v", tfjsonpath.New("source_commit_id"), knownvalue.StringExact(ch.Root)),
				},
			},
			{ // a VM created after the move boots the new commit
				Config: vmFromRefConfig(repo, true),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("vers_vm.v", plancheck.ResourceActionNoop),
					plancheck.ExpectResourceAction("vers_vm.after_move", plancheck.ResourceActionCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vers_vm.after_move", tfjsonpath.New("source_commit_id"), knownvalue.StringExact(ch.Middle)),
					statecheck.ExpectKnownValue("vers_vm.after_move", tfjsonpath.New("parent_commit_id"), knownvalue.StringExact(ch.Middle)),
				},
			},
		},
	})
}

func TestAccVM_newRoot(t *testing.T) {
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: `
resource "vers_vm" "v" {
  vm_config = {
    vcpu_count   = 1
    mem_size_mib = 256
  }
  labels = { role = "scratch" }
  state  = "paused"
}
`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("vers_vm.v", tfjsonpath.New("source_commit_id"), knownvalue.Null()),
				statecheck.ExpectKnownValue("vers_vm.v", tfjsonpath.New("parent_commit_id"), knownvalue.Null()),
				statecheck.ExpectKnownValue("vers_vm.v", tfjsonpath.New("state"), knownvalue.StringExact("paused")),
				statecheck.ExpectKnownValue("vers_vm.v", tfjsonpath.New("vm_config").AtMapKey("mem_size_mib"), knownvalue.Int64Exact(256)),
			},
			// created paused: versd has it paused and refuses exec
			Check: resource.ComposeTestCheckFunc(remoteVMState(testClient(t), vers.VMStatePaused), execWorks(testClient(t), false)),
		}},
	})
}

func TestAccVM_badInput(t *testing.T) {
	const commit = "0c0ffee0-0000-4000-8000-000000000001"
	cases := map[string]struct{ config, want string }{
		"commit_id and ref": {fmt.Sprintf("resource \"vers_vm\" \"v\" {\n  commit_id = %q\n  ref = \"app:latest\"\n}\n", commit), `(?s)commit_id.*ref`},
		"none of the three": {"resource \"vers_vm\" \"v\" {\n  labels = {}\n}\n", `(?s)commit_id.*ref`},
		"malformed ref":     {"resource \"vers_vm\" \"v\" {\n  ref = \"no-tag\"\n}\n", `(?i)ref`},
		"other org's ref":   {"resource \"vers_vm\" \"v\" {\n  ref = \"acme/app:v1\"\n}\n", `(?i)organi[sz]ation`},
		"malformed commit":  {"resource \"vers_vm\" \"v\" {\n  commit_id = \"latest\"\n}\n", `commit id`},
		"bad state":         {fmt.Sprintf("resource \"vers_vm\" \"v\" {\n  commit_id = %q\n  state = \"stopped\"\n}\n", commit), `running`},
		"unknown repo:tag":  {"resource \"vers_vm\" \"v\" {\n  ref = \"no-such-repo-xyz:latest\"\n}\n", `Cannot resolve ref`},
		"unknown commit":    {fmt.Sprintf("resource \"vers_vm\" \"v\" {\n  commit_id = %q\n}\n", commit), `Cannot create VM`},
		"vcpu out of range": {"resource \"vers_vm\" \"v\" {\n  vm_config = { vcpu_count = 64 }\n}\n", `vcpu_count`},
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

// After `terraform import`, the configured source is recorded in place, not
// treated as a change that replaces the VM; and `labels = {}` never shows
// as drift even though the API answers null for "no labels".
func TestAccVM_importKeepsTheVM(t *testing.T) {
	ch := sharedChain(t)
	c := testClient(t)
	vm, err := c.CreateVMFromCommit(context.Background(), vers.FromCommitRequest{CommitID: ch.Root})
	if err != nil {
		t.Fatal(err)
	}
	cfg := vmFromCommitConfig(ch.Root, "running", `{}`)
	sameVM := func(s *terraform.State) error {
		id, err := vmIDFrom(s, "vers_vm.v")
		if err == nil && id != vm.VMID {
			return fmt.Errorf("the imported VM %s was replaced by %s", vm.VMID, id)
		}
		return err
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				ResourceName:       "vers_vm.v",
				ImportState:        true,
				ImportStateId:      vm.VMID,
				ImportStatePersist: true,
				Config:             cfg,
			},
			{
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("vers_vm.v", plancheck.ResourceActionUpdate),
				}},
				Check: sameVM,
			},
		},
	})
}
