package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/vers-sh/terraform-provider-vers/internal/ref"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// resolveRef turns the `ref` attribute ("repo:tag") into the commit id the
// tag names now, reporting problems on that attribute. Every resource and
// data source that accepts a ref resolves it here so they agree on errors.
func resolveRef(ctx context.Context, c *vers.Client, s string, diags *diag.Diagnostics) (string, bool) {
	parsed, err := ref.ParseLocal(s)
	if err != nil {
		diags.AddAttributeError(path.Root("ref"), "Invalid ref", err.Error())
		return "", false
	}
	tag, err := c.GetRepoTag(ctx, parsed.Repo, parsed.Tag)
	if err != nil {
		diags.AddAttributeError(path.Root("ref"), "Cannot resolve ref",
			apiErrorDetail(err, fmt.Sprintf("Check that repository %q has a tag %q.", parsed.Repo, parsed.Tag)))
		return "", false
	}
	return tag.CommitID, true
}
