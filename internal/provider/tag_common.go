package provider

import (
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// vers_tag (repository tags) and vers_commit_tag (legacy organization tags)
// are the same object on two API paths. What they share lives here so a fix
// to one, such as the three-state description PATCH, reaches both.

// tagMovableAttributes are the attributes both tag resources have besides
// their names: the target commit, the description and server timestamps.
func tagMovableAttributes() map[string]schema.Attribute {
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	return map[string]schema.Attribute{
		"commit_id": schema.StringAttribute{
			MarkdownDescription: "Commit the tag points at. Changed in place (promotion, rollback).",
			Required:            true,
			Validators:          commitIDValidators(),
		},
		"description": schema.StringAttribute{
			MarkdownDescription: "Free text, e.g. `main @ 3f2c1a9e`. Changed in place; removing it clears the description. " +
				"Must not be empty: the API reports an empty description as none, so omit the attribute instead.",
			Optional:   true,
			Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
		},
		"tag_id": schema.StringAttribute{
			MarkdownDescription: "The tag's UUID.",
			Computed:            true,
			PlanModifiers:       keep,
		},
		"created_at": schema.StringAttribute{
			MarkdownDescription: "Creation time (RFC 3339).",
			Computed:            true,
			PlanModifiers:       keep,
		},
		"updated_at": schema.StringAttribute{
			MarkdownDescription: "Time of the last move or description change (RFC 3339).",
			Computed:            true,
		},
	}
}

// withTagMovableAttributes adds the shared attributes to a tag resource's own.
func withTagMovableAttributes(own map[string]schema.Attribute) map[string]schema.Attribute {
	for k, v := range tagMovableAttributes() {
		own[k] = v
	}
	return own
}

// tagUpdateRequest sends only what changed: an absent description leaves it
// alone, null clears it, a string sets it (vers.UpdateTagRequest's three
// states).
func tagUpdateRequest(planCommit, stateCommit, planDescription, stateDescription types.String) vers.UpdateTagRequest {
	update := vers.UpdateTagRequest{}
	if !planCommit.Equal(stateCommit) {
		update.CommitID = planCommit.ValueString()
	}
	if !planDescription.Equal(stateDescription) {
		if planDescription.IsNull() {
			update.ClearDescription = true
		} else {
			update.Description = stringPtr(planDescription)
		}
	}
	return update
}

// tagDescription maps the API's description onto state: a cleared
// description may come back as "" or null, and both are null here.
func tagDescription(d *string) types.String {
	if d == nil || *d == "" {
		return types.StringNull()
	}
	return types.StringValue(*d)
}
