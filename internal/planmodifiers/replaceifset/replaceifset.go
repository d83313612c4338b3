// Package replaceifset holds RequiresReplace variants that do not fire when
// the prior state has no value for the attribute.
//
// Import is why: an imported resource has only what the API can report. A
// vers_vm's source (commit_id, ref or vm_config) or a vers_build's
// triggers are not reported, so right after import they are null in state
// while the configuration sets them. A plain RequiresReplace would then
// plan to destroy and recreate what was just imported. With these, the
// first plan after import records the configured value in place; any later
// change (a value that was set) still replaces.
package replaceifset

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
)

const (
	description = "Changing this value replaces the resource, except when no value was known before (after import), " +
		"when the configured value is recorded in place."
)

// String replaces when a previously set string changes.
func String() planmodifier.String {
	return stringplanmodifier.RequiresReplaceIf(func(_ context.Context, req planmodifier.StringRequest, resp *stringplanmodifier.RequiresReplaceIfFuncResponse) {
		resp.RequiresReplace = !req.StateValue.IsNull()
	}, description, description)
}

// Object replaces when a previously set object changes.
func Object() planmodifier.Object {
	return objectplanmodifier.RequiresReplaceIf(func(_ context.Context, req planmodifier.ObjectRequest, resp *objectplanmodifier.RequiresReplaceIfFuncResponse) {
		resp.RequiresReplace = !req.StateValue.IsNull()
	}, description, description)
}

// Map replaces when a previously set map changes.
func Map() planmodifier.Map {
	return mapplanmodifier.RequiresReplaceIf(func(_ context.Context, req planmodifier.MapRequest, resp *mapplanmodifier.RequiresReplaceIfFuncResponse) {
		resp.RequiresReplace = !req.StateValue.IsNull()
	}, description, description)
}
