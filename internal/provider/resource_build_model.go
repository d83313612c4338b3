package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vers-sh/terraform-provider-vers/internal/build"
	"github.com/vers-sh/terraform-provider-vers/internal/imagemeta"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

type buildModel struct {
	ID                     types.String   `tfsdk:"id"`
	Context                types.String   `tfsdk:"context"`
	Dockerfile             types.String   `tfsdk:"dockerfile"`
	DockerfileContent      types.String   `tfsdk:"dockerfile_content"`
	BuildArgs              types.Map      `tfsdk:"build_args"`
	Target                 types.String   `tfsdk:"target"`
	Secrets                types.Map      `tfsdk:"secrets"`
	VMConfig               *vmConfigModel `tfsdk:"vm_config"`
	Triggers               types.Map      `tfsdk:"triggers"`
	BaseUpdates            types.String   `tfsdk:"base_updates"`
	KeepFailedBuilder      types.Bool     `tfsdk:"keep_failed_builder"`
	NoCache                types.Bool     `tfsdk:"no_cache"`
	DeleteCommitsOnDestroy types.Bool     `tfsdk:"delete_commits_on_destroy"`
	CommitID               types.String   `tfsdk:"commit_id"`
	ContextHash            types.String   `tfsdk:"context_hash"`
	BuildID                types.String   `tfsdk:"build_id"`
	BaseCommitID           types.String   `tfsdk:"base_commit_id"`
	Layers                 types.List     `tfsdk:"layers"`
	LayersCached           types.Int64    `tfsdk:"layers_cached"`
	LayersToRun            types.Int64    `tfsdk:"layers_to_run"`
	Image                  types.Object   `tfsdk:"image"`
	Timeouts               timeouts.Value `tfsdk:"timeouts"`
}

type layerModel struct {
	Instruction types.String `tfsdk:"instruction"`
	Line        types.Int64  `tfsdk:"line"`
	CacheKey    types.String `tfsdk:"cache_key"`
	CommitID    types.String `tfsdk:"commit_id"`
	Cached      types.Bool   `tfsdk:"cached"`
	Duration    types.String `tfsdk:"duration"`
}

var layerAttrTypes = map[string]attr.Type{
	"instruction": types.StringType, "line": types.Int64Type, "cache_key": types.StringType,
	"commit_id": types.StringType, "cached": types.BoolType, "duration": types.StringType,
}

// computeContextHash is the plan-time half of vers_build: it hashes the
// inputs named in the configuration. Errors (a missing COPY source, a bad
// Dockerfile) become plan diagnostics.
func (r *BuildResource) computeContextHash(ctx context.Context, config tfsdk.Config) (string, bool, diag.Diagnostics) {
	spec, known, diags := readBuildInputs(ctx, configGetter(config))
	if !known || diags.HasError() {
		return "", false, diags
	}
	prep, err := r.prepareWithBases(ctx, spec)
	if err != nil {
		attr := dockerfileAttr(spec)
		diags.Append(dockerfileDiagnostics(err, attr)...)
		return "", false, diags
	}
	if data := r.configuredData(); data != nil {
		data.prepared.put(spec, prep)
	}
	return prep.ContextHash, true, diags
}

// fillBuild records a finished build in the model.
func fillBuild(ctx context.Context, m *buildModel, buildID string, res *build.Result) diag.Diagnostics {
	var diags diag.Diagnostics
	m.ID = types.StringValue(res.CommitID)
	m.CommitID = types.StringValue(res.CommitID)
	m.BuildID = types.StringValue(buildID)
	m.BaseCommitID = types.StringValue(res.BaseCommit)
	layers := make([]layerModel, 0, len(res.Layers))
	for _, l := range res.Layers {
		layers = append(layers, layerModel{
			Instruction: types.StringValue(l.Instruction), Line: types.Int64Value(int64(l.Line)),
			CacheKey: types.StringValue(l.CacheKey), CommitID: types.StringValue(l.CommitID),
			Cached: types.BoolValue(l.Cached), Duration: types.StringValue(l.Duration.Round(time.Millisecond).String()),
		})
	}
	m.LayersCached, m.LayersToRun = types.Int64Value(int64(res.Hits)), types.Int64Value(int64(res.Misses))
	var d diag.Diagnostics
	m.Layers, d = types.ListValueFrom(ctx, types.ObjectType{AttrTypes: layerAttrTypes}, layers)
	diags.Append(d...)
	img := res.Image
	m.Image, d = imageObject(ctx, &img)
	diags.Append(d...)
	return diags
}

// fillFailedBuild records a failed run: its id, and the layers it finished (res
// may be nil when it failed before the first step).
func fillFailedBuild(ctx context.Context, m *buildModel, buildID string, res *build.Result) diag.Diagnostics {
	if res == nil {
		res = &build.Result{}
	}
	diags := fillBuild(ctx, m, buildID, res)
	m.ID = types.StringValue("failed-" + buildID)
	m.CommitID = types.StringNull()
	m.Image = types.ObjectNull(imageAttrTypes)
	if res.BaseCommit == "" {
		m.BaseCommitID = types.StringNull()
	}
	return diags
}

// copyComputed carries what was built over into a plan for an in-place
// update.
func (m *buildModel) copyComputed(state buildModel) {
	m.ID, m.CommitID, m.BuildID, m.BaseCommitID = state.ID, state.CommitID, state.BuildID, state.BaseCommitID
	m.Layers, m.Image = state.Layers, state.Image
	m.LayersCached, m.LayersToRun = state.LayersCached, state.LayersToRun
}

// importBuild writes what an existing commit can tell about the build that
// made it. Inputs stay null until the configuration supplies them.
func importBuild(ctx context.Context, c vers.CommitInfo, state *tfsdk.State) diag.Diagnostics {
	var diags diag.Diagnostics
	diags.Append(state.SetAttribute(ctx, path.Root("id"), c.CommitID)...)
	diags.Append(state.SetAttribute(ctx, path.Root("commit_id"), c.CommitID)...)
	diags.Append(state.SetAttribute(ctx, path.Root("layers"), types.ListValueMust(types.ObjectType{AttrTypes: layerAttrTypes}, nil))...)
	rec, ok := imagemeta.Decode(c.Description)
	if !ok {
		diags.AddWarning("Not a vers_build commit", "The commit carries no vers_build record, so image metadata is empty. "+
			"The next plan adopts the configured inputs without rebuilding.")
		img, d := imageObject(ctx, &imagemeta.Image{})
		diags.Append(d...)
		diags.Append(state.SetAttribute(ctx, path.Root("image"), img)...)
		return diags
	}
	diags.Append(state.SetAttribute(ctx, path.Root("build_id"), rec.BuildID)...)
	img := rec.Image
	if img == nil {
		img = &imagemeta.Image{}
	}
	obj, d := imageObject(ctx, img)
	diags.Append(d...)
	diags.Append(state.SetAttribute(ctx, path.Root("image"), obj)...)
	return diags
}
