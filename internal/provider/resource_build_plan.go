package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/vers-sh/terraform-provider-vers/internal/build"
	"github.com/vers-sh/terraform-provider-vers/internal/dockerfile"
)

var _ resource.ResourceWithModifyPlan = &BuildResource{}

// ModifyPlan rebuilds when the commit the FROM line names has moved: with
// `FROM my-base:latest`, promoting a new base must rebuild what is built on
// it, as `docker build --pull` would. context_hash cannot see this (it is
// pure and also served by a provider function without API access), so the
// check lives here and compares the base resolved now with the one the
// build used (base_commit_id).
//
// When the base cannot be resolved now (the tag is created in this same
// apply, the API is unreachable) nothing is forced: the build resolves it
// at apply, and the next plan catches any move.
func (r *BuildResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.State.Raw.IsNull() || req.Plan.Raw.IsNull() || r.data == nil || r.data.client == nil {
		return // create or destroy, or the provider is not configured yet
	}
	var recorded types.String
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("base_commit_id"), &recorded)...)
	var commitID types.String
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("commit_id"), &commitID)...)
	if resp.Diagnostics.HasError() || commitID.IsNull() {
		return // a failed (tainted) build is replaced anyway
	}
	spec, known, diags := readBuildInputs(ctx, configGetter(req.Config))
	resp.Diagnostics.Append(diags...)
	if !known || diags.HasError() {
		return
	}
	df, err := build.ParseDockerfile(spec)
	if err != nil || df.From.Kind == dockerfile.FromScratch || df.From.Kind == dockerfile.FromCommit {
		return // errors are reported by ValidateConfig; fixed bases cannot move
	}
	now, err := build.ResolveBase(ctx, r.data.client, df.From, "Dockerfile")
	if err != nil {
		tflog.Debug(ctx, "FROM not resolvable at plan time; the build resolves it at apply", map[string]any{"error": err.Error()})
		return
	}
	if recorded.ValueString() == now {
		return
	}
	resp.Diagnostics.AddAttributeWarning(path.Root("base_commit_id"), "Base image moved",
		fmt.Sprintf("FROM %s now names commit %s; this build used %s, so it will be rebuilt on the new base.",
			df.From.Ref, now, recorded.ValueString()))
	resp.RequiresReplace = append(resp.RequiresReplace, path.Root("base_commit_id"))
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("base_commit_id"), types.StringUnknown())...)
}
