// Package hashreplace is the plan modifier behind vers_build's
// context_hash: it computes the hash of the build inputs during plan and
// asks for a replacement exactly when the hash moved.
//
//   - same hash as in state         → no change, the plan stays empty
//   - different hash                → replacement
//   - inputs not known yet (another resource produces the context path) →
//     the hash is unknown and the resource is replaced, the only safe answer
//   - no hash in state (an imported build) → adopt the computed hash in place
//     instead of rebuilding
package hashreplace

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// ComputeFunc derives the hash from the resource configuration. known is
// false when some input is unknown at plan time.
type ComputeFunc func(ctx context.Context, config tfsdk.Config) (hash string, known bool, diags diag.Diagnostics)

// Modifier returns the plan modifier for a computed hash attribute.
func Modifier(compute ComputeFunc) planmodifier.String {
	return modifier{compute: compute}
}

type modifier struct{ compute ComputeFunc }

func (m modifier) Description(_ context.Context) string {
	return "Computes the hash of the build inputs at plan time and replaces the resource when it changes."
}

func (m modifier) MarkdownDescription(ctx context.Context) string { return m.Description(ctx) }

func (m modifier) PlanModifyString(ctx context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	// Destroy plans have a null plan; nothing to compute.
	if req.Plan.Raw.IsNull() {
		return
	}
	hash, known, diags := m.compute(ctx, req.Config)
	resp.Diagnostics.Append(diags...)
	if diags.HasError() {
		return
	}
	creating := req.State.Raw.IsNull()
	if !known {
		resp.PlanValue = types.StringUnknown()
		if !creating {
			resp.RequiresReplace = true
		}
		return
	}
	resp.PlanValue = types.StringValue(hash)
	if creating || req.StateValue.IsNull() || req.StateValue.IsUnknown() {
		return
	}
	if req.StateValue.ValueString() != hash {
		resp.RequiresReplace = true
	}
}
