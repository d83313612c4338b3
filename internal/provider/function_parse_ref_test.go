package provider

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
)

func TestParseRefFunction(t *testing.T) {
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: `output "p" { value = provider::vers::parse_ref("acme/my-app:latest") }`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownOutputValue("p", knownvalue.ObjectExact(map[string]knownvalue.Check{
						"org": knownvalue.StringExact("acme"), "repo": knownvalue.StringExact("my-app"),
						"tag": knownvalue.StringExact("latest"), "reference": knownvalue.StringExact("acme/my-app:latest"),
					})),
				},
			},
			{
				Config: `output "p" { value = provider::vers::parse_ref("my-app:v1.2") }`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownOutputValue("p", knownvalue.ObjectPartial(map[string]knownvalue.Check{
						"org": knownvalue.StringExact(""), "repo": knownvalue.StringExact("my-app"), "tag": knownvalue.StringExact("v1.2"),
					})),
				},
			},
		},
	})
}

func TestParseRefFunction_errors(t *testing.T) {
	for name, input := range map[string]string{
		"no tag":          "my-app",
		"empty tag":       "my-app:",
		"space in repo":   "my app:latest",
		"two slashes":     "a/b/c:latest",
		"empty":           "",
		"too long":        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:latest",
		"invalid unicode": "caf\u00e9:latest",
	} {
		t.Run(name, func(t *testing.T) {
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      `output "p" { value = provider::vers::parse_ref("` + input + `") }`,
					ExpectError: regexp.MustCompile(`(?i)reference|name|tag|repo`),
				}},
			})
		})
	}
}
