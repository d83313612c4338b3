package buildcontext

import (
	"testing"

	"github.com/vers-sh/terraform-provider-vers/internal/enginewording"
)

// The engine's messages speak of Dockerfiles and builds; the provider
// phrases its typed errors for Terraform (DESIGN.md, "Errors").
func TestNoTerraformWording(t *testing.T) {
	enginewording.Check(t, ".", nil)
}
