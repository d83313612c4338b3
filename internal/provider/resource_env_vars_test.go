package provider

import (
	"context"
	"fmt"
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
