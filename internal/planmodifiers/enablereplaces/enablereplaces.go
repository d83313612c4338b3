// Package enablereplaces holds a RequiresReplace variant for switches that
// keep something only a create can make.
//
// vers_repo_fork's keep_vm is the case: the fork boots a VM, and turning
// keep_vm off deletes it in place; turning it on again cannot bring that VM
// back, only a new fork can. A null prior value (after import) is recorded
// in place like replaceifset does.
package enablereplaces

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
)

const description = "Turning this on replaces the resource; turning it off is an in-place update."

// Bool replaces when a value that was false becomes true.
func Bool() planmodifier.Bool {
	return boolplanmodifier.RequiresReplaceIf(func(_ context.Context, req planmodifier.BoolRequest, resp *boolplanmodifier.RequiresReplaceIfFuncResponse) {
		resp.RequiresReplace = !req.StateValue.IsNull() && !req.StateValue.ValueBool() && req.PlanValue.ValueBool()
	}, description, description)
}
