package provider

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
)

func TestRefFunction(t *testing.T) {
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: `output "r" { value = provider::vers::ref("my-app", "build-2026-04-20") }`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownOutputValue("r", knownvalue.StringExact("my-app:build-2026-04-20")),
				},
			},
			{
				Config:      `output "r" { value = provider::vers::ref("my app", "latest") }`,
				ExpectError: regexp.MustCompile(`repository name`),
			},
			{
				Config:      `output "r" { value = provider::vers::ref("my-app", "a:b") }`,
				ExpectError: regexp.MustCompile(`tag name`),
			},
		},
	})
}
