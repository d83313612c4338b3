package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vers-sh/terraform-provider-vers/internal/planmodifiers/enablereplaces"
	"github.com/vers-sh/terraform-provider-vers/internal/planmodifiers/replaceifset"
	"github.com/vers-sh/terraform-provider-vers/internal/planmodifiers/sourcedefault"
	"github.com/vers-sh/terraform-provider-vers/internal/ref"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

var (
	_ resource.ResourceWithConfigure   = &RepoForkResource{}
	_ resource.ResourceWithImportState = &RepoForkResource{}
	_ resource.ResourceWithModifyPlan  = &RepoForkResource{}
)

// RepoForkResource copies a tag of a public repository (usually another
// organisation's) into the caller's organisation with POST
// /repositories/fork.
type RepoForkResource struct{ data *providerData }

type repoForkModel struct {
	ID             types.String `tfsdk:"id"`
	Source         types.String `tfsdk:"source"`
	RepoName       types.String `tfsdk:"repo_name"`
	TagName        types.String `tfsdk:"tag_name"`
	KeepVM         types.Bool   `tfsdk:"keep_vm"`
	KeepOnDestroy  types.Bool   `tfsdk:"keep_on_destroy"`
	Triggers       types.Map    `tfsdk:"triggers"`
	Repo           types.String `tfsdk:"repo"`
	Tag            types.String `tfsdk:"tag"`
	Reference      types.String `tfsdk:"reference"`
	CommitID       types.String `tfsdk:"commit_id"`
	SourceCommitID types.String `tfsdk:"source_commit_id"`
	VMID           types.String `tfsdk:"vm_id"`
}

func NewRepoForkResource() resource.Resource { return &RepoForkResource{} }

func (r *RepoForkResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_repo_fork"
}

func (r *RepoForkResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A fork of a public repository tag into your organisation, like `vers repo fork org/repo:tag`.\n\n" +
			"Commits are private to their organisation, so an image another organisation publishes (Vers publishes its " +
			"supported base images this way) is used by forking it first, then building `FROM` the fork: " +
			"`FROM <repo>:<tag>` with this resource's `reference`.\n\n" +
			"The fork is a snapshot. **A fork never follows its source by itself**: when the source tag moves later, " +
			"the plan warns and keeps the fork (a silent re-fork would rebuild everything built on it). To take the new " +
			"source, change `triggers` (for example a version you bump) or run `terraform apply -replace`. " +
			"Changing `source`, `repo_name` or `tag_name` forks again (replace).\n\n" +
			"Forking boots a VM from the source commit and commits it again; the provider deletes that VM right away " +
			"unless `keep_vm` is set. Destroy deletes the forked tag, then the repository if no other tag is left in it " +
			"(so forking into a repository that holds your builds' tags never deletes them); `keep_on_destroy` keeps " +
			"both. The forked commit itself is kept either way, so builds made from it keep working.\n\n" +
			"Import with `repo_name:tag_name`. Vers does not record where a fork came from, so after import `source` is " +
			"unknown; the first plan records the configured `source` in place instead of forking again.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "The forked tag as `repo_name:tag_name` (same as `reference`).",
				Computed:            true,
				PlanModifiers:       keep,
			},
			"source": schema.StringAttribute{
				MarkdownDescription: "The tag to fork, as `org/repo:tag` (for example `vers/base:latest`). The repository must be " +
					"public, or belong to your own organisation. Changing it forks again (replace), except right after import, " +
					"when it is recorded in place.",
				Required:      true,
				Validators:    []validator.String{refValidator{public: true}},
				PlanModifiers: []planmodifier.String{replaceifset.String()},
			},
			"repo_name": schema.StringAttribute{
				MarkdownDescription: "Repository in your organisation to fork into; created if it does not exist. Defaults to the " +
					"source repository's name. Changing it forks again (replace).",
				Optional:   true,
				Computed:   true,
				Validators: nameValidators(),
				PlanModifiers: []planmodifier.String{
					sourcedefault.String(path.Root("source"), sourcedefault.Repo),
					stringplanmodifier.RequiresReplace(),
				},
			},
			"tag_name": schema.StringAttribute{
				MarkdownDescription: "Tag to create in `repo_name`; it must not exist yet. Defaults to the source tag's name. " +
					"Changing it forks again (replace).",
				Optional:   true,
				Computed:   true,
				Validators: nameValidators(),
				PlanModifiers: []planmodifier.String{
					sourcedefault.String(path.Root("source"), sourcedefault.Tag),
					stringplanmodifier.RequiresReplace(),
				},
			},
			"keep_vm": schema.BoolAttribute{
				MarkdownDescription: "Keep the VM the fork boots (its id is in `vm_id`) instead of deleting it right after the fork. " +
					"A kept VM belongs to this resource: destroy deletes it unless `keep_on_destroy` is set. Turning " +
					"`keep_vm` off deletes the VM in place; turning it on forks again, because only a fork makes the VM. " +
					"Defaults to `false`.",
				Optional:      true,
				Computed:      true,
				Default:       booldefault.StaticBool(false),
				PlanModifiers: []planmodifier.Bool{enablereplaces.Bool()},
			},
			"keep_on_destroy": schema.BoolAttribute{
				MarkdownDescription: "On destroy, leave the forked tag, its repository and any kept VM in Vers and only forget " +
					"them (for example to hand the fork over to another configuration, which imports it). Defaults to `false`.",
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(false),
			},
			"triggers": schema.MapAttribute{
				MarkdownDescription: "Arbitrary values; changing any of them forks again (replace). This is how a fork follows " +
					"its source on purpose, e.g. `{ base_version = \"2026-12\" }`. Adding `triggers` to a fork that had none " +
					"records them without forking.",
				ElementType:   types.StringType,
				Optional:      true,
				PlanModifiers: []planmodifier.Map{replaceifset.Map()},
			},
			"repo": schema.StringAttribute{
				MarkdownDescription: "The repository holding the fork (in your organisation).",
				Computed:            true,
				PlanModifiers:       keep,
			},
			"tag": schema.StringAttribute{
				MarkdownDescription: "The forked tag's name.",
				Computed:            true,
				PlanModifiers:       keep,
			},
			"reference": schema.StringAttribute{
				MarkdownDescription: "`repo:tag` of the fork, for a Dockerfile's `FROM` or a `vers_vm`'s `ref`.",
				Computed:            true,
				PlanModifiers:       keep,
			},
			"commit_id": schema.StringAttribute{
				MarkdownDescription: "The commit the forked tag points at now: the fork's own commit, or wherever someone has " +
					"moved the tag since (refresh reads it; the provider does not move it back).",
				Computed:      true,
				PlanModifiers: keep,
			},
			"source_commit_id": schema.StringAttribute{
				MarkdownDescription: "The source tag's commit (in the source organisation) as seen just before the fork; " +
					"null after import, or when the public API did not show it. Compared at plan time to warn that the " +
					"source has moved.",
				Computed:      true,
				PlanModifiers: keep,
			},
			"vm_id": schema.StringAttribute{
				MarkdownDescription: "The VM the fork booted, while it exists: with `keep_vm`, or when deleting it failed (the " +
					"next apply deletes it then). Null otherwise.",
				Computed: true,
			},
		},
	}
}

func (r *RepoForkResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

// ModifyPlan plans vm_id (its value follows keep_vm) and warns, without
// forcing anything, when the source tag has moved since the fork.
func (r *RepoForkResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan repoForkModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if req.State.Raw.IsNull() {
		// A new fork: vm_id is known only when the VM is deleted right away.
		if !plan.KeepVM.IsUnknown() && !plan.KeepVM.ValueBool() {
			resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("vm_id"), types.StringNull())...)
		}
		return
	}
	var state repoForkModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !sameFork(plan, state) {
		// A replacement: Terraform plans the new fork again as a create,
		// with no prior state, so nothing here would reach the apply.
		return
	}
	vmID := state.VMID
	if !plan.KeepVM.ValueBool() {
		vmID = types.StringNull() // Update deletes a VM that is no longer kept (or whose deletion failed)
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("vm_id"), vmID)...)
	r.warnIfSourceMoved(ctx, plan, state, &resp.Diagnostics)
}

// sameFork reports whether the plan keeps the fork that exists, i.e. no
// attribute that forks again has changed. Attribute plan modifiers'
// replacement decisions are not visible to ModifyPlan, so this mirrors them
// by hand: replaceifset on source and triggers, RequiresReplace on
// repo_name and tag_name, enablereplaces on keep_vm. Change both together
// (TestSameForkTellsReplacementsApart has a case for each).
func sameFork(plan, state repoForkModel) bool {
	recorded := func(p, s attr.Value) bool { return s.IsNull() || p.Equal(s) } // replaceifset
	return recorded(plan.Source, state.Source) && recorded(plan.Triggers, state.Triggers) &&
		plan.RepoName.Equal(state.RepoName) && plan.TagName.Equal(state.TagName) &&
		!(plan.KeepVM.ValueBool() && !state.KeepVM.ValueBool())
}

// warnIfSourceMoved costs one GET per fork and plan. It is a warning, not a
// replacement: re-forking silently would rebuild everything built on the
// fork whenever the publisher moves a tag.
func (r *RepoForkResource) warnIfSourceMoved(ctx context.Context, plan, state repoForkModel, diags *diag.Diagnostics) {
	if r.data == nil || r.data.client == nil || state.SourceCommitID.IsNull() || state.SourceCommitID.IsUnknown() ||
		!plan.Source.Equal(state.Source) {
		return
	}
	src, err := ref.ParsePublic(state.Source.ValueString())
	if err != nil {
		return
	}
	tag, err := r.data.client.GetPublicRepoTag(ctx, src.Org, src.Repo, src.Tag)
	if err != nil || tag.CommitID == state.SourceCommitID.ValueString() {
		return // a source that cannot be read now is not this plan's business: the fork exists
	}
	diags.AddAttributeWarning(path.Root("source"), "The fork's source has moved",
		fmt.Sprintf("%s now points at commit %s; %s was forked from %s and keeps it. To fork the new commit, change triggers "+
			"or run terraform apply -replace on this resource (everything built FROM %s is then rebuilt).",
			src, tag.CommitID, state.Reference.ValueString(), state.SourceCommitID.ValueString(), state.Reference.ValueString()))
}

func (r *RepoForkResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan repoForkModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || !r.data.ready(&resp.Diagnostics) {
		return
	}
	src, err := ref.ParsePublic(plan.Source.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("source"), "Invalid source", err.Error())
		return
	}
	c := r.data.client
	// sourcedefault planned the names from source, so both are known here.
	repoName, tagName := plan.RepoName.ValueString(), plan.TagName.ValueString()

	// What the source names just before the fork: the baseline for the
	// "source has moved" warning. A failure here is left to the fork
	// itself, whose error is the authoritative one.
	plan.SourceCommitID = types.StringNull()
	if t, err := c.GetPublicRepoTag(ctx, src.Org, src.Repo, src.Tag); err == nil {
		plan.SourceCommitID = types.StringValue(t.CommitID)
	}
	out, err := c.ForkRepository(ctx, vers.ForkRepositoryRequest{
		SourceOrg: src.Org, SourceRepo: src.Repo, SourceTag: src.Tag, RepoName: repoName, TagName: tagName,
	})
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("source"), "Cannot fork "+src.String(), apiErrorDetail(err, forkAdvice(err, src, repoName, tagName)))
		return
	}
	// From here on the fork exists: state records it whatever happens next.
	fillFork(&plan, out.RepoName, out.TagName, out.CommitID)
	plan.VMID = types.StringValue(out.VMID)
	if !plan.KeepVM.ValueBool() {
		plan.VMID = r.deleteForkVM(ctx, out.VMID, &resp.Diagnostics)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

// forkAdvice says what to do about a failed fork.
func forkAdvice(err error, src ref.Ref, repo, tag string) string {
	switch {
	case vers.IsConflict(err):
		return fmt.Sprintf("Tag %s:%s already exists in your organisation. If it is an earlier fork, import it: "+
			"terraform import <address> %s:%s. Otherwise choose another tag_name (or repo_name).", repo, tag, repo, tag)
	case vers.IsNotFound(err):
		return fmt.Sprintf("Check that %s exists and that repository %s/%s is public: a private repository of another "+
			"organisation cannot be forked (its owner can publish it with vers_repo's is_public).", src, src.Org, src.Repo)
	}
	return ""
}

// deleteForkVM deletes the VM a fork booted and returns the vm_id to
// record: null when it is gone, its id when deleting failed, so the next
// apply tries again instead of leaking it. A fresh context lets the delete
// run even when the apply was interrupted right after the fork.
func (r *RepoForkResource) deleteForkVM(_ context.Context, vmID string, diags *diag.Diagnostics) types.String {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := r.data.client.DeleteVM(ctx, vmID); err != nil && !vers.IsNotFound(err) {
		diags.AddAttributeWarning(path.Root("vm_id"), "Cannot delete the VM the fork booted",
			apiErrorDetail(err, fmt.Sprintf("VM %s is recorded in vm_id; the next apply deletes it.", vmID)))
		return types.StringValue(vmID)
	}
	return types.StringNull()
}

func (r *RepoForkResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state repoForkModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.data.ready(&resp.Diagnostics) {
		return
	}
	if gone := r.readInto(ctx, &state, &resp.Diagnostics); gone {
		resp.State.RemoveResource(ctx)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

// readInto refreshes the forked tag (someone may have moved it) and the
// VM; it reports whether the tag is gone.
func (r *RepoForkResource) readInto(ctx context.Context, m *repoForkModel, diags *diag.Diagnostics) (gone bool) {
	info, err := r.data.client.GetRepoTag(ctx, m.Repo.ValueString(), m.Tag.ValueString())
	if vers.IsNotFound(err) {
		return true
	}
	if err != nil {
		diags.AddError("Cannot read the forked tag", apiErrorDetail(err, ""))
		return false
	}
	fillFork(m, m.Repo.ValueString(), m.Tag.ValueString(), info.CommitID)
	if !m.VMID.IsNull() && !m.VMID.IsUnknown() {
		if _, err := r.data.client.GetVMStatus(ctx, m.VMID.ValueString()); vers.IsNotFound(err) {
			m.VMID = types.StringNull()
		}
	}
	return false
}

func (r *RepoForkResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state repoForkModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.data.ready(&resp.Diagnostics) {
		return
	}
	// Everything else that can change in place (source or triggers after
	// import, keep_on_destroy) is only recorded.
	plan.VMID = state.VMID
	if !plan.KeepVM.ValueBool() && !state.VMID.IsNull() {
		plan.VMID = r.deleteForkVM(ctx, state.VMID.ValueString(), &resp.Diagnostics)
	}
	if gone := r.readInto(ctx, &plan, &resp.Diagnostics); gone {
		resp.Diagnostics.AddError("The forked tag is gone", fmt.Sprintf("%s was deleted outside Terraform; apply again to fork anew.", plan.Reference.ValueString()))
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *RepoForkResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state repoForkModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.data.ready(&resp.Diagnostics) {
		return
	}
	if state.KeepOnDestroy.ValueBool() {
		return
	}
	c := r.data.client
	if !state.VMID.IsNull() && state.VMID.ValueString() != "" {
		if _, err := c.DeleteVM(ctx, state.VMID.ValueString()); err != nil && !vers.IsNotFound(err) {
			resp.Diagnostics.AddError("Cannot delete the fork's VM", apiErrorDetail(err, ""))
			return
		}
	}
	repo, tag := state.Repo.ValueString(), state.Tag.ValueString()
	if err := c.DeleteRepoTag(ctx, repo, tag); err != nil && !vers.IsNotFound(err) {
		resp.Diagnostics.AddError("Cannot delete the forked tag", apiErrorDetail(err, ""))
		return
	}
	left, err := c.ListRepoTags(ctx, repo)
	if vers.IsNotFound(err) {
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot list the tags left in the fork's repository", apiErrorDetail(err, "The forked tag is deleted; the repository may remain."))
		return
	}
	if len(left.Tags) > 0 {
		names := make([]string, 0, len(left.Tags))
		for _, t := range left.Tags {
			names = append(names, t.TagName)
		}
		resp.Diagnostics.AddWarning("Repository kept", fmt.Sprintf("The forked tag %s:%s is deleted; repository %s still holds other tags (%s), so it stays.",
			repo, tag, repo, strings.Join(names, ", ")))
		return
	}
	if err := c.DeleteRepository(ctx, repo); err != nil && !vers.IsNotFound(err) {
		resp.Diagnostics.AddError("Cannot delete the fork's repository", apiErrorDetail(err, ""))
	}
}

// ImportState takes `repo_name:tag_name`. Where the fork came from is not
// recorded by Vers: source stays null until the configuration supplies it
// (replaceifset records it in place).
func (r *RepoForkResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	rf, err := ref.ParseLocal(req.ID)
	if err != nil {
		resp.Diagnostics.AddError("Invalid import ID", "Import a fork by its tag in your organisation, repo_name:tag_name (e.g. base:latest): "+err.Error())
		return
	}
	for attr, v := range map[string]string{"repo_name": rf.Repo, "tag_name": rf.Tag, "repo": rf.Repo, "tag": rf.Tag} {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(attr), v)...)
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("keep_vm"), false)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("keep_on_destroy"), false)...)
}

// fillFork copies the fork's names and commit into the model.
func fillFork(m *repoForkModel, repo, tag, commitID string) {
	reference := repo + ":" + tag
	m.ID, m.Reference = types.StringValue(reference), types.StringValue(reference)
	m.Repo, m.Tag = types.StringValue(repo), types.StringValue(tag)
	m.RepoName, m.TagName = types.StringValue(repo), types.StringValue(tag)
	m.CommitID = types.StringValue(commitID)
}
