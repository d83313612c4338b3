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

func envVarsConfig(version int, vars map[string]string) string {
	var b strings.Builder
	for k, v := range vars {
		fmt.Fprintf(&b, "    %s = %q\n", k, v)
	}
	return fmt.Sprintf(`
resource "vers_env_vars" "e" {
  values_wo_version = %d
  values_wo = {
%s  }
}
`, version, b.String())
}

// remoteEnvIs checks versd's variables: want maps name → value, "" meaning
// absent.
func remoteEnvIs(c *vers.Client, want map[string]string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		got, err := c.ListEnvVars(context.Background())
		if err != nil {
			return err
		}
		for k, v := range want {
			if got[k] != v {
				return fmt.Errorf("versd has %s=%q, want %q", k, got[k], v)
			}
		}
		return nil
	}
}

// stateLacks fails when a secret value appears anywhere in state.
func stateLacks(secret string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		rs, ok := s.RootModule().Resources["vers_env_vars.e"]
		if !ok || rs.Primary == nil || len(rs.Primary.Attributes) == 0 {
			return fmt.Errorf("no vers_env_vars.e in state")
		}
		for k, v := range rs.Primary.Attributes {
			if strings.Contains(v, secret) {
				return fmt.Errorf("state attribute %s holds the write-only value", k)
			}
		}
		return nil
	}
}

func TestAccEnvVars_writeOnlyLifecycle(t *testing.T) {
	c := testClient(t)
	suffix := strings.ToUpper(strings.ReplaceAll(uniqueName(t, "E"), "-", "_"))
	a, b, other := "A_"+suffix, "B_"+suffix, "OTHER_"+suffix
	if _, err := c.SetEnvVars(context.Background(), map[string]string{other: "not-managed"}, false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.DeleteEnvVar(context.Background(), other) })
	const secretA, secretB, secretA2 = "sekrit-a-1", "sekrit-b-1", "sekrit-a-2"

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: resource.ComposeTestCheckFunc(
			remoteEnvIs(c, map[string]string{a: "", b: "", other: "not-managed"}),
		),
		Steps: []resource.TestStep{
			{
				Config: envVarsConfig(1, map[string]string{a: secretA, b: secretB}),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vers_env_vars.e", tfjsonpath.New("values_wo"), knownvalue.Null()),
					statecheck.ExpectKnownValue("vers_env_vars.e", tfjsonpath.New("names"),
						knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact(a), knownvalue.StringExact(b)})),
				},
				Check: resource.ComposeTestCheckFunc(
					remoteEnvIs(c, map[string]string{a: secretA, b: secretB, other: "not-managed"}),
					stateLacks(secretA), stateLacks(secretB),
				),
			},
			{ // a changed value alone is invisible to Terraform (write-only)...
				Config:           envVarsConfig(1, map[string]string{a: secretA2, b: secretB}),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check:            remoteEnvIs(c, map[string]string{a: secretA}),
			},
			{ // ...until the version moves; then it is sent in place.
				Config: envVarsConfig(2, map[string]string{a: secretA2, b: secretB}),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("vers_env_vars.e", plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeTestCheckFunc(remoteEnvIs(c, map[string]string{a: secretA2}), stateLacks(secretA2)),
			},
			{ // removing a name deletes it without a version bump
				Config: envVarsConfig(2, map[string]string{a: secretA2}),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("vers_env_vars.e", plancheck.ResourceActionUpdate),
				}},
				Check: remoteEnvIs(c, map[string]string{a: secretA2, b: "", other: "not-managed"}),
			},
			{ // deleted outside Terraform: the next apply sets it again
				PreConfig: func() {
					if err := c.DeleteEnvVar(context.Background(), a); err != nil {
						t.Fatal(err)
					}
				},
				Config: envVarsConfig(2, map[string]string{a: secretA2}),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("vers_env_vars.e", plancheck.ResourceActionCreate),
				}},
				Check: remoteEnvIs(c, map[string]string{a: secretA2}),
			},
		},
	})
}

// Import adopts existing variables by name: only the names come into state
// (values are write-only and never read back), the next plan is empty while
// the configuration names the same variables without a version, and a
// version then sends the configured values. A name the account lacks is
// refused at import.
func TestAccEnvVars_import(t *testing.T) {
	c := testClient(t)
	suffix := strings.ToUpper(strings.ReplaceAll(uniqueName(t, "I"), "-", "_"))
	a, b := "IMP_A_"+suffix, "IMP_B_"+suffix
	if _, err := c.SetEnvVars(context.Background(), map[string]string{a: "set-by-hand-a", b: "set-by-hand-b"}, false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.DeleteEnvVar(context.Background(), a)
		_ = c.DeleteEnvVar(context.Background(), b)
	})
	unversioned := fmt.Sprintf(`
resource "vers_env_vars" "e" {
  values_wo = {
    %s = "from-config-a"
    %s = "from-config-b"
  }
}
`, a, b)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             remoteEnvIs(c, map[string]string{a: "", b: ""}),
		Steps: []resource.TestStep{
			{
				Config:        unversioned,
				ResourceName:  "vers_env_vars.e",
				ImportState:   true,
				ImportStateId: a + ",NOT_THERE_" + suffix,
				ExpectError:   regexp.MustCompile(`no variable named NOT_THERE_`),
			},
			{
				Config:             unversioned,
				ResourceName:       "vers_env_vars.e",
				ImportState:        true,
				ImportStateId:      b + "," + a,
				ImportStatePersist: true,
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					if len(states) != 1 {
						return fmt.Errorf("%d instances imported, want 1", len(states))
					}
					attrs := states[0].Attributes
					if attrs["id"] != "env_vars" || attrs["names.#"] != "2" {
						return fmt.Errorf("imported attributes %v", attrs)
					}
					for k, v := range attrs {
						if strings.Contains(v, "set-by-hand") {
							return fmt.Errorf("import read a value into state (%s)", k)
						}
					}
					return nil
				},
			},
			{ // adopted as is: nothing to do, and the values stay the ones set by hand
				Config:           unversioned,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check:            remoteEnvIs(c, map[string]string{a: "set-by-hand-a", b: "set-by-hand-b"}),
			},
			{ // a version sends the configured values
				Config: strings.Replace(unversioned, "values_wo = {", "values_wo_version = 1\n  values_wo = {", 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("vers_env_vars.e", plancheck.ResourceActionUpdate),
				}},
				Check: remoteEnvIs(c, map[string]string{a: "from-config-a", b: "from-config-b"}),
			},
		},
	})
}

func TestParseEnvVarsImportID(t *testing.T) {
	for id, want := range map[string]string{"A": "A", "A,B": "A B", " A , B,A ": "A B", "_x1": "_x1", "*": "*"} {
		names, all, err := parseEnvVarsImportID(id)
		got := strings.Join(names, " ")
		if all {
			got = "*"
		}
		if err != nil || got != want {
			t.Errorf("parseEnvVarsImportID(%q) = %q, %v; want %q", id, got, err, want)
		}
	}
	for _, id := range []string{"", "A,", "1A", "A-B", "A,*"} {
		if _, _, err := parseEnvVarsImportID(id); err == nil {
			t.Errorf("parseEnvVarsImportID(%q) accepted", id)
		}
	}
}
