package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/vers-sh/terraform-provider-vers/internal/build"
	"github.com/vers-sh/terraform-provider-vers/internal/dockerfile"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
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
	// One tag lookup per plan of an existing build: the base-move check
	// and the replacement preview share it.
	base := sync.OnceValue(func() resolvedFrom { return r.resolveFrom(ctx, req, resp) })
	r.planBaseMove(ctx, req, resp, base)
	if !resp.Diagnostics.HasError() && r.replacing(ctx, req, resp) {
		r.warnReplacement(ctx, req, resp, base)
	}
}

// planBaseMove replaces an existing build whose FROM tag moved, unless
// base_updates = "ignore".
func (r *BuildResource) planBaseMove(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse, base func() resolvedFrom) {
	var recorded, commitID, policy types.String
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("base_commit_id"), &recorded)...)
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("commit_id"), &commitID)...)
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("base_updates"), &policy)...)
	if resp.Diagnostics.HasError() || commitID.IsNull() || policy.ValueString() == baseUpdatesIgnore {
		return // a failed (tainted) build is replaced anyway; "ignore" keeps the base
	}
	b := base()
	from, now := b.from, b.now
	if !b.ok || recorded.ValueString() == now {
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

// replacing reports whether this plan replaces the existing build: its
// context_hash or triggers moved, or its base did (planBaseMove).
func (r *BuildResource) replacing(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) bool {
	if len(resp.RequiresReplace) > 0 {
		return true
	}
	var planHash, stateHash types.String
	var planTriggers, stateTriggers types.Map
	resp.Diagnostics.Append(resp.Plan.GetAttribute(ctx, path.Root("context_hash"), &planHash)...)
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("context_hash"), &stateHash)...)
	resp.Diagnostics.Append(resp.Plan.GetAttribute(ctx, path.Root("triggers"), &planTriggers)...)
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("triggers"), &stateTriggers)...)
	hashMoved := !planHash.IsUnknown() && !stateHash.IsNull() && planHash.ValueString() != stateHash.ValueString()
	return hashMoved || !stateTriggers.IsNull() && !planTriggers.Equal(stateTriggers)
}

// warnReplacement shows the preview of a replacement. Terraform plans a
// replacement twice, the second time as a create, and drops the warnings
// of that second call, so the first call says it; the private marker keeps
// the second from saying it again on tools that do not drop it.
func (r *BuildResource) warnReplacement(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse, base func() resolvedFrom) {
	b := base()
	if !b.ok {
		return
	}
	if p, file, ok := r.preview(ctx, req, resp, b.now); ok {
		resp.Diagnostics.AddWarning("Build preview: "+p.Summary(file), previewDetail(p, file))
		resp.Diagnostics.Append(resp.Private.SetKey(ctx, previewWarnedKey, []byte("true"))...)
	}
}

// previewWarnedKey marks, in private state, a plan whose preview warning
// was already shown.
const previewWarnedKey = "preview_warned"

// planBase plans base_commit_id of a build about to be created as the
// commit the FROM line names now, and previews its layers.
func (r *BuildResource) planBase(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if b := r.resolveFrom(ctx, req, resp); b.ok {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("base_commit_id"), types.StringValue(b.now))...)
		r.planLayers(ctx, req, resp, b.now)
	}
}

// planLayers resolves the layer cache chain of a build about to be created
// and plans what cannot change before the apply: every layer's instruction
// and line, the cache key of a first layer on the planned base, and the
// image metadata. Whether a layer is cached, its commit and the counts stay
// unknown: Terraform plans again at apply and requires the same known
// values, and the cache may change in between (a cached commit deleted,
// another runner filling a layer). The prediction is a warning instead,
// which both plan and apply print.
func (r *BuildResource) planLayers(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse, base string) {
	p, file, ok := r.preview(ctx, req, resp, base)
	if !ok {
		return
	}
	layers, img, diags := plannedLayers(ctx, p)
	resp.Diagnostics.Append(diags...)
	if diags.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("layers"), layers)...)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("image"), img)...)
	if warned, d := req.Private.GetKey(ctx, previewWarnedKey); len(warned) == 0 && !d.HasError() {
		resp.Diagnostics.AddWarning("Build preview: "+p.Summary(file), previewDetail(p, file))
	}
}

// preview resolves the layer cache chain of the configured build on base.
// ok is false when the inputs are unknown or invalid (other plan steps
// report why) or the cache cannot be read now.
func (r *BuildResource) preview(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse, base string) (*build.Preview, string, bool) {
	spec, known, diags := readBuildInputs(ctx, configGetter(req.Config))
	if !known || diags.HasError() {
		return nil, "", false
	}
	var noCache types.Bool
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("no_cache"), &noCache)...)
	prep := r.data.prepared.take(spec)
	if prep == nil {
		var err error
		if prep, err = r.prepareWithBases(ctx, spec); err != nil {
			return nil, "", false // the context_hash plan modifier reports it
		}
	}
	p, err := build.PreviewBuild(ctx, indexedAPI{Client: r.data.client, commits: r.data.commits}, prep,
		build.Options{BaseCommit: base, NoCache: noCache.ValueBool()})
	if err != nil {
		tflog.Debug(ctx, "layer preview unavailable; the layers are known after apply", map[string]any{"error": err.Error()})
		return nil, "", false
	}
	return p, prep.DockerfileName, true
}

// plannedLayers is the planned value of layers and image for a preview.
func plannedLayers(ctx context.Context, p *build.Preview) (types.List, types.Object, diag.Diagnostics) {
	var diags diag.Diagnostics
	elemType := types.ObjectType{AttrTypes: layerAttrTypes}
	elems := make([]attr.Value, 0, len(p.Layers))
	for _, l := range p.Layers {
		key := types.StringUnknown()
		if l.KeyFixed {
			key = types.StringValue(l.CacheKey)
		}
		obj, d := types.ObjectValue(layerAttrTypes, map[string]attr.Value{
			"instruction": types.StringValue(l.Instruction), "line": types.Int64Value(int64(l.Line)), "cache_key": key,
			"commit_id": types.StringUnknown(), "cached": types.BoolUnknown(), "duration": types.StringUnknown(),
		})
		diags.Append(d...)
		elems = append(elems, obj)
	}
	list, d := types.ListValue(elemType, elems)
	diags.Append(d...)
	img := p.Image
	obj, d := imageObject(ctx, &img)
	diags.Append(d...)
	return list, obj, diags
}

// previewDetail lists the layers as the cache holds them now.
func previewDetail(p *build.Preview, file string) string {
	var b strings.Builder
	b.WriteString("vers_build checked the layer cache for this build:\n\n")
	for _, l := range p.Layers {
		state := "will run"
		if l.Cached {
			state = "cached  (" + shortID(l.CommitID) + ")"
		}
		fmt.Fprintf(&b, "  %-16s %-44s %s\n", fmt.Sprintf("%s:%d", file, l.Line), build.Shorten(l.Instruction, 44), state)
	}
	b.WriteString("\nThe apply looks at the cache again: a cached layer deleted in between runs, and a layer another " +
		"build fills in between is taken from the cache. So cached, commit_id, layers_cached and layers_to_run are " +
		"known after apply.")
	return b.String()
}

// shortID is the first 8 characters of a commit id, as in git.
func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// indexedAPI is the client with its commit listing served by the
// provider's shared index, so a plan lists commits once for every build
// preview and data source.
type indexedAPI struct {
	*vers.Client
	commits *commitIndex
}

func (a indexedAPI) ListAllCommits(ctx context.Context) ([]vers.CommitInfo, error) {
	return a.commits.All(ctx)
}

// resolvedFrom is a FROM line and the commit it names now; ok is false
// when it could not be resolved at plan time.
type resolvedFrom struct {
	from dockerfile.From
	now  string
	ok   bool
}

// resolveFrom reads the FROM line from the configuration and resolves it.
// ok is false when the inputs are unknown or invalid (ValidateConfig
// reports the errors) or the base cannot be read now.
func (r *BuildResource) resolveFrom(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) resolvedFrom {
	spec, known, diags := readBuildInputs(ctx, configGetter(req.Config))
	resp.Diagnostics.Append(diags...)
	if !known || diags.HasError() {
		return resolvedFrom{}
	}
	// parseWithBases: a Dockerfile that needs its base's ENV to parse
	// still gets its base planned (base_commit_id, base_updates).
	df, err := r.parseWithBases(ctx, spec)
	if err != nil {
		return resolvedFrom{}
	}
	now, err := build.ResolveBase(ctx, r.data.client, df.From, "Dockerfile")
	var foreign *build.ForeignBaseError
	if errors.As(err, &foreign) {
		resp.Diagnostics.AddAttributeError(dockerfileAttr(spec), "Base image belongs to another organisation", foreignBaseMessage(foreign))
		return resolvedFrom{}
	}
	if err != nil {
		tflog.Debug(ctx, "FROM not resolvable at plan time; the build resolves it at apply", map[string]any{"error": err.Error()})
		return resolvedFrom{}
	}
	return resolvedFrom{from: df.From, now: now, ok: true}
}
