package provider

import (
	"os"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// readsRepo makes Terraform configure the provider and call the API.
const readsRepo = `
data "vers_repo" "x" {
  name = "whatever"
}
`

func TestProviderConfigure_errors(t *testing.T) {
	cases := map[string]struct {
		env    map[string]string
		config string
		want   string
	}{
		"missing key names the env var": {
			env: map[string]string{"VERS_API_KEY": ""}, config: `provider "vers" {}` + readsRepo,
			want: `Missing Vers API key(.|\n)*VERS_API_KEY`,
		},
		"bad request_timeout": {
			config: `provider "vers" { request_timeout = "soon" }` + readsRepo, want: `(?i)duration`,
		},
		"negative max_retries": {
			config: `provider "vers" { max_retries = -1 }` + readsRepo, want: `(?i)between 0 and 50`,
		},
		"unreadable ssh_ca_file": {
			config: `provider "vers" { ssh_ca_file = "/nonexistent/ca.pem" }` + readsRepo, want: `Cannot read ssh_ca_file`,
		},
		"ssh_ca_file without a certificate": {
			config: `provider "vers" { ssh_ca_file = "/etc/hostname" }` + readsRepo, want: `(?i)no PEM certificate|Cannot read`,
		},
		"bad VERS_SSH_INSECURE": {
			env: map[string]string{"VERS_SSH_INSECURE": "perhaps"}, config: `provider "vers" {}` + readsRepo,
			want: `VERS_SSH_INSECURE`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			// A key is present unless the case removes it, so each case
			// fails for its own reason with or without TF_ACC's versd.
			if os.Getenv("VERS_API_KEY") == "" {
				t.Setenv("VERS_API_KEY", "unit-test-key")
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps:                    []resource.TestStep{{Config: tc.config, ExpectError: regexp.MustCompile(tc.want)}},
			})
		})
	}
}

// An api_key produced by another resource is unknown during plan; the
// provider must plan without crashing and without calling the API.
func TestProviderConfigure_unknownKeyPlans(t *testing.T) {
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: `
resource "terraform_data" "key" {
  input = "later"
}

provider "vers" {
  api_key = terraform_data.key.output
}

resource "vers_repo" "r" {
  name = "planned-only"
}
`,
			PlanOnly:           true,
			ExpectNonEmptyPlan: true,
		}},
	})
}
