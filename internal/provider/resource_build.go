package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/terraform-plugin-framework-validators/resourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/vers-sh/terraform-provider-vers/internal/build"
	"github.com/vers-sh/terraform-provider-vers/internal/dockerfile"
	"github.com/vers-sh/terraform-provider-vers/internal/imagemeta"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

var (
	_ resource.ResourceWithConfigure        = &BuildResource{}
	_ resource.ResourceWithImportState      = &BuildResource{}
	_ resource.ResourceWithValidateConfig   = &BuildResource{}
	_ resource.ResourceWithConfigValidators = &BuildResource{}
)

const (
	defaultBuildCreateTimeout = 60 * time.Minute
	// buildLogSubsystem lets users see build steps alone with
	// TF_LOG_SDK_PROVIDER_VERS_BUILD-style filtering or TF_LOG_PROVIDER=INFO.
	buildLogSubsystem = "vers_build"
)

// BuildResource turns a Dockerfile and a build context into a Vers commit.
// The resource is immutable: every input that matters is folded into
// context_hash, and a changed hash replaces the build.
type BuildResource struct {
	data     *providerData
	provider *VersProvider // nil in unit tests
}

func NewBuildResource() resource.Resource { return &BuildResource{} }

func (r *BuildResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_build"
}

func (r *BuildResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = buildSchema(ctx, r.computeContextHash)
}

func (r *BuildResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *BuildResource) ConfigValidators(_ context.Context) []resource.ConfigValidator {
	return []resource.ConfigValidator{
		resourcevalidator.Conflicting(path.MatchRoot("dockerfile"), path.MatchRoot("dockerfile_content")),
	}
}

// ValidateConfig parses the Dockerfile as soon as its inputs are known, so
// unsupported instructions and syntax errors show up in `terraform validate`
// and at plan with Dockerfile:LINE.
func (r *BuildResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	spec, known, diags := readBuildInputs(ctx, configGetter(req.Config))
	resp.Diagnostics.Append(diags...)
	if !known || diags.HasError() {
		return
	}
	attr := dockerfileAttr(spec)
	df, err := r.parseWithBases(ctx, spec)
	if err != nil {
		if r.data == nil && mayNeedBaseEnv(spec) {
			// Terraform validates before it configures the provider, so
			// the bases' ENV cannot be read yet; the plan-time hash
			// reports the same errors once it can.
			return
		}
		resp.Diagnostics.Append(dockerfileDiagnostics(err, attr)...)
		return
	}
	for _, i := range df.Needed() {
		if f := df.Stages[i].From; f.Kind == dockerfile.FromScratch && spec.VMConfig == nil {
			resp.Diagnostics.AddAttributeError(path.Root("vm_config"), "vm_config is required for FROM scratch",
				fmt.Sprintf("Dockerfile:%d: FROM scratch starts a new root filesystem, and Vers needs its size. "+
					"Add vm_config = { vcpu_count = 1, mem_size_mib = 1024, fs_size_mib = 2048 } (or FROM an existing repo:tag).", f.Line))
			break
		}
	}
	if secrets, known, diags := readSecrets(ctx, req.Config); known && !diags.HasError() {
		if err := build.CheckSecrets(df, secrets, "Dockerfile"); err != nil {
			d, _ := secretDiagnostics(err)
			resp.Diagnostics.Append(d...)
		}
	}
	for _, w := range df.Warnings {
		resp.Diagnostics.AddAttributeWarning(attr, "Dockerfile warning", w)
	}
}

func (r *BuildResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan buildModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || !r.data.ready(&resp.Diagnostics) {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, defaultBuildCreateTimeout)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	spec, known, diags := readBuildInputs(ctx, req.Plan.GetAttribute)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !known {
		resp.Diagnostics.AddError("Build inputs are still unknown", "This is a bug: Terraform should know every input at apply time.")
		return
	}
	secrets, _, diags := readSecrets(ctx, req.Config)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	spec.Secrets = secrets
	prep, err := r.prepareWithBases(ctx, spec)
	if err != nil {
		attr := dockerfileAttr(spec)
		resp.Diagnostics.Append(dockerfileDiagnostics(err, attr)...)
		return
	}
	// The plan promised a hash; building something else would make
	// Terraform report an inconsistent result, so say what happened instead.
	if !plan.ContextHash.IsUnknown() && !plan.ContextHash.IsNull() && plan.ContextHash.ValueString() != prep.ContextHash {
		resp.Diagnostics.AddError("The build context changed after plan",
			fmt.Sprintf("The plan was made for context_hash %s but the files now hash to %s. Run terraform plan again.",
				plan.ContextHash.ValueString(), prep.ContextHash))
		return
	}

	if err := build.CheckSecrets(prep.Dockerfile, secrets, prep.DockerfileName); err != nil {
		d, _ := secretDiagnostics(err)
		resp.Diagnostics.Append(d...)
		return
	}
	// Write-only: Terraform never stores it, and neither do we.
	plan.Secrets = types.MapNull(types.StringType)

	buildID := uuid.NewString()
	ctx = tflog.NewSubsystem(ctx, buildLogSubsystem)
	tflog.SubsystemInfo(ctx, buildLogSubsystem, "vers_build starting", map[string]any{"build_id": buildID, "context_hash": prep.ContextHash,
		"steps": len(prep.Dockerfile.MaterializingSteps())})
	res, err := build.Execute(ctx, r.data.client, prep, build.Options{
		BuildID:           buildID,
		KeepFailedBuilder: plan.KeepFailedBuilder.ValueBool(),
		NoCache:           plan.NoCache.ValueBool(),
		// The plan showed this base (ModifyPlan); building on it keeps
		// the promise even if the tag moved in between.
		BaseCommit: plan.BaseCommitID.ValueString(),
		Progress: func(e build.Event) {
			tflog.SubsystemInfo(ctx, buildLogSubsystem, e.String(), map[string]any{"build_id": buildID, "step": e.Step, "status": e.Status})
		},
	})
	if err != nil {
		// Terraform's rule: a Create that fails after doing work leaves
		// state, which Terraform marks tainted and replaces next time. The
		// record names the failed run and the layers it finished (they are
		// cache entries the next attempt resumes from); commit_id stays null.
		keptVM := ""
		if res != nil {
			keptVM = res.BuilderVMID
		}
		resp.Diagnostics.AddError("Build failed", buildFailureDetail(err, ctx.Err(), keptVM))
		plan.ContextHash = types.StringValue(prep.ContextHash)
		resp.Diagnostics.Append(fillFailedBuild(ctx, &plan, buildID, res)...)
		resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
		return
	}
	tflog.SubsystemInfo(ctx, buildLogSubsystem, fmt.Sprintf("vers_build finished: %d cached, %d built, %d builder VM(s) booted",
		res.Hits, res.Misses, res.VMsBooted), map[string]any{"build_id": buildID, "commit_id": res.CommitID})

	plan.ContextHash = types.StringValue(prep.ContextHash)
	resp.Diagnostics.Append(fillBuild(ctx, &plan, buildID, res)...)
	r.data.commits.Forget(res.CommitID) // the index may predate the new commits
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// Read keeps the build while its commit exists. A deleted commit removes
// the build from state so the next plan builds it again.
func (r *BuildResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state buildModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.data.ready(&resp.Diagnostics) {
		return
	}
	if state.CommitID.IsNull() {
		return // a failed (tainted) build: nothing on Vers to read
	}
	c, found, err := r.data.commits.Get(ctx, state.CommitID.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the build's commit", apiErrorDetail(err, ""))
		return
	}
	if !found {
		tflog.Warn(ctx, "build commit no longer exists; removing vers_build from state", map[string]any{"commit_id": state.CommitID.ValueString()})
		resp.State.RemoveResource(ctx)
		return
	}
	if rec, ok := imagemeta.Decode(c.Description); ok && rec.Image != nil {
		obj, diags := imageObject(ctx, rec.Image)
		resp.Diagnostics.Append(diags...)
		state.Image = obj
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// Update only happens for attributes that do not change what was built
// (timeouts, keep_failed_builder, no_cache, a context path whose files hash
// the same): the new values are recorded and nothing is rebuilt.
func (r *BuildResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state buildModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	plan.copyComputed(state)
	if plan.ContextHash.IsUnknown() {
		plan.ContextHash = state.ContextHash
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// Delete forgets the build. By default its commits stay: a tag may still
// point at them (rollback depends on old builds) and they are the layer cache
// of future builds. With delete_commits_on_destroy the final commit is
// deleted unless something still references it (Vers answers 409 then, and
// the commit is kept with a warning). Layer commits are always kept: other
// builds share them as cache.
func (r *BuildResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state buildModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !state.DeleteCommitsOnDestroy.ValueBool() || state.CommitID.IsNull() {
		tflog.Info(ctx, "vers_build removed from state; its commits are kept for tags and the layer cache",
			map[string]any{"commit_id": state.CommitID.ValueString()})
		return
	}
	if !r.data.ready(&resp.Diagnostics) {
		return
	}
	id := state.CommitID.ValueString()
	// A fully cached build's commit was made by an earlier, identical build
	// (say the same Dockerfile in another workspace) that still uses it.
	// Only delete what this build's own run created.
	if c, found, err := r.data.commits.Get(ctx, id); err == nil && found {
		if rec, ok := imagemeta.Decode(c.Description); ok && rec.BuildID != state.BuildID.ValueString() {
			resp.Diagnostics.AddWarning("Build commit kept",
				fmt.Sprintf("Commit %s was made by another build run (%s) and came from the layer cache, so other builds may use it; it was kept.", id, rec.BuildID))
			return
		}
	}
	err := r.data.client.DeleteCommit(ctx, id)
	switch {
	case err == nil || vers.IsNotFound(err):
		r.data.commits.Forget(id)
	case vers.IsConflict(err):
		resp.Diagnostics.AddWarning("Build commit kept",
			fmt.Sprintf("Commit %s is still referenced (a tag or a VM uses it), so it was kept: %s", id, apiErrorDetail(err, "")))
	default:
		resp.Diagnostics.AddError("Cannot delete the build commit", apiErrorDetail(err, ""))
	}
}

// ImportState adopts an existing commit made by vers_build. The hash is
// unknown after import and is adopted at the next plan without a rebuild.
func (r *BuildResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if !r.data.ready(&resp.Diagnostics) {
		return
	}
	c, found, err := r.data.commits.Get(ctx, req.ID)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the commit", apiErrorDetail(err, ""))
		return
	}
	if !found {
		resp.Diagnostics.AddError("Commit not found", fmt.Sprintf("No commit with id %q is visible to this API key.", req.ID))
		return
	}
	resp.Diagnostics.Append(importBuild(ctx, c, &resp.State)...)
}
