package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/vers-sh/terraform-provider-vers/internal/build"
	"github.com/vers-sh/terraform-provider-vers/internal/dockerfile"
)

var _ resource.ResourceWithModifyPlan = &BuildResource{}

// The values of base_updates.
const (
	baseUpdatesRebuild = "rebuild"
	baseUpdatesIgnore  = "ignore"
)

// ModifyPlan resolves the FROM line at plan time.
//
// For a new build (or the create half of a replacement) the plan shows the
// base it will start from, and Create builds on exactly that commit.
//
// For an existing build with base_updates = "rebuild", a moved FROM tag
// replaces the build: with `FROM my-base:latest`, promoting a new base must
// rebuild what is built on it, as `docker build --pull` would. context_hash
// cannot see this (it is pure and also served by a provider function
// without API access), so the check lives here and compares the base
// resolved now with the one the build used (base_commit_id). With
// base_updates = "ignore" a moved tag changes nothing: an incremental build
// whose own output moves its FROM tag would otherwise never converge.
//
// When the base cannot be resolved now (the tag is created in this same
// apply, the API is unreachable) nothing is forced: the build resolves it
// at apply, and the next plan catches any move.
func (r *BuildResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil || r.data.client == nil {
		return // destroy, or the provider is not configured yet
	}
	if req.State.Raw.IsNull() {
		r.planBase(ctx, req, resp)
		return
	}
	var recorded, commitID, policy types.String
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("base_commit_id"), &recorded)...)
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("commit_id"), &commitID)...)
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("base_updates"), &policy)...)
	if resp.Diagnostics.HasError() || commitID.IsNull() || policy.ValueString() == baseUpdatesIgnore {
		return // a failed (tainted) build is replaced anyway; "ignore" keeps the base
	}
	from, now, ok := r.resolveFrom(ctx, req, resp)
	if !ok || recorded.ValueString() == now {
		return
	}
	if now == commitID.ValueString() {
		// The tag names this very build's output: something (usually a
		// vers_tag in the same configuration) moves the FROM tag to what
		// this build made. Rebuilding would move it again, forever.
		resp.Diagnostics.AddAttributeWarning(path.Root("base_updates"), "Build would rebuild on its own output forever",
			fmt.Sprintf("FROM %s now names this build's own commit %s, so the default base_updates = \"rebuild\" replaces the build on "+
				"every apply, and each apply moves the tag again. If the tag is meant to advance to each new build (incremental "+
				"builds on the previous latest), set base_updates = \"ignore\": the build then starts from the tag as it is when "+
				"the build is created, and only changed inputs (build_args, triggers, the context) build again.", from.Ref, now))
	} else {
		resp.Diagnostics.AddAttributeWarning(path.Root("base_commit_id"), "Base image moved",
			fmt.Sprintf("FROM %s now names commit %s; this build used %s, so it will be rebuilt on the new base "+
				"(set base_updates = \"ignore\" to keep the base a build was created on).", from.Ref, now, recorded.ValueString()))
	}
	resp.RequiresReplace = append(resp.RequiresReplace, path.Root("base_commit_id"))
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("base_commit_id"), types.StringUnknown())...)
}

// planBase plans base_commit_id of a build about to be created as the
// commit the FROM line names now.
func (r *BuildResource) planBase(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if _, now, ok := r.resolveFrom(ctx, req, resp); ok {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("base_commit_id"), types.StringValue(now))...)
	}
}

// resolveFrom reads the FROM line from the configuration and resolves it.
// ok is false when the inputs are unknown or invalid (ValidateConfig
// reports the errors) or the base cannot be read now.
func (r *BuildResource) resolveFrom(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) (dockerfile.From, string, bool) {
	spec, known, diags := readBuildInputs(ctx, configGetter(req.Config))
	resp.Diagnostics.Append(diags...)
	if !known || diags.HasError() {
		return dockerfile.From{}, "", false
	}
	df, err := build.ParseDockerfile(spec)
	if err != nil {
		return dockerfile.From{}, "", false
	}
	now, err := build.ResolveBase(ctx, r.data.client, df.From, "Dockerfile")
	var foreign *build.ForeignBaseError
	if errors.As(err, &foreign) {
		resp.Diagnostics.AddAttributeError(dockerfileAttr(spec), "Base image belongs to another organisation",
			fmt.Sprintf("%s:%d: FROM %s names a public repository, but its commit belongs to another organisation and commits are "+
				"private to their organisation. Fork it first and build FROM the fork:\n\n"+
				"  resource \"vers_repo_fork\" \"base\" {\n    source = %q\n  }\n\n"+
				"then FROM ${vers_repo_fork.base.reference} (%s:%s).", foreign.File, foreign.Line, foreign.Ref, foreign.Ref, foreign.Repo, foreign.Tag))
		return dockerfile.From{}, "", false
	}
	if err != nil {
		tflog.Debug(ctx, "FROM not resolvable at plan time; the build resolves it at apply", map[string]any{"error": err.Error()})
		return dockerfile.From{}, "", false
	}
	return df.From, now, true
}
