package build

import (
	"testing"

	"github.com/vers-sh/terraform-provider-vers/internal/enginewording"
)

// The engine's messages speak of Dockerfiles and builds; the provider
// phrases its typed errors for Terraform (DESIGN.md, "Errors").
func TestNoTerraformWording(t *testing.T) {
	enginewording.Check(t, ".", enginewording.Allow{
		// A record of the context hash (hashRecords): renaming it would
		// change every stored hash and replace every build.
		"vm_config:": "context hash record",
	})
}
