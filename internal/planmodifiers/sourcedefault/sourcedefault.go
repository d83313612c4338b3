// Package sourcedefault plans the default of an optional name that is taken
// from another attribute holding an `org/repo:tag` reference, as the fork
// endpoint does (repo_name defaults to the source repository, tag_name to
// the source tag).
//
// The default must be in the plan, not filled in at apply: the names are
// part of the resource's identity (changing them replaces it), and a
// replacement can only be planned from values known at plan time. It also
// keeps an imported fork stable when the configuration leaves the names
// to their defaults.
package sourcedefault

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vers-sh/terraform-provider-vers/internal/ref"
)

// Part selects which part of the reference is the default.
type Part int

const (
	Repo Part = iota
	Tag
)

// String plans, for a null configured value, the chosen part of the
// reference configured at source. An unknown source plans an unknown value;
// an invalid one is left to the source's validator.
func String(source path.Path, part Part) planmodifier.String {
	return modifier{source: source, part: part}
}

type modifier struct {
	source path.Path
	part   Part
}

func (m modifier) Description(context.Context) string {
	if m.part == Repo {
		return "Defaults to the repository of `" + m.source.String() + "`."
	}
	return "Defaults to the tag of `" + m.source.String() + "`."
}

func (m modifier) MarkdownDescription(ctx context.Context) string { return m.Description(ctx) }

func (m modifier) PlanModifyString(ctx context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	if !req.ConfigValue.IsNull() || req.Plan.Raw.IsNull() {
		return // set in the configuration, or the resource is being destroyed
	}
	var src types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, m.source, &src)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if src.IsUnknown() {
		resp.PlanValue = types.StringUnknown()
		return
	}
	if src.IsNull() {
		return
	}
	r, err := ref.Parse(src.ValueString())
	if err != nil {
		return
	}
	if m.part == Repo {
		resp.PlanValue = types.StringValue(r.Repo)
	} else {
		resp.PlanValue = types.StringValue(r.Tag)
	}
}
