package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vers-sh/terraform-provider-vers/internal/ref"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

var (
	_ resource.ResourceWithConfigure   = &TagResource{}
	_ resource.ResourceWithImportState = &TagResource{}
)

// TagResource manages a repository tag. Moving it (commit_id) is an in-place
// update: that is how a team promotes a build and how on-call rolls back.
type TagResource struct{ data *providerData }

type tagModel struct {
	ID          types.String `tfsdk:"id"`
	Repo        types.String `tfsdk:"repo"`
	Name        types.String `tfsdk:"name"`
	CommitID    types.String `tfsdk:"commit_id"`
	Description types.String `tfsdk:"description"`
	Reference   types.String `tfsdk:"reference"`
	TagID       types.String `tfsdk:"tag_id"`
	CreatedAt   types.String `tfsdk:"created_at"`
	UpdatedAt   types.String `tfsdk:"updated_at"`
}

func NewTagResource() resource.Resource { return &TagResource{} }

func (r *TagResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_tag"
}

func (r *TagResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A movable tag in a Vers repository (`repo:tag`) pointing at a commit.\n\n" +
			"Changing `commit_id` or `description` updates the tag **in place**, so promotion and rollback are one " +
			"`terraform apply` and the tag never disappears in between. If someone moves the tag outside Terraform, " +
			"the next plan shows an in-place update back to the configured commit.",
		Attributes: withTagMovableAttributes(map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "`repo:tag`.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"repo": schema.StringAttribute{
				MarkdownDescription: "Repository name. Changing it replaces the tag.",
				Required:            true,
				Validators:          nameValidators(),
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"name": schema.StringAttribute{
				MarkdownDescription: "Tag name, unique in the repository (e.g. `latest`, `v1.2`, `build-2026-04-20`). Changing it replaces the tag.",
				Required:            true,
				Validators:          nameValidators(),
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"reference": schema.StringAttribute{
				MarkdownDescription: "`repo:tag`, the form `vers_vm.ref` and `FROM` lines accept.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
		}),
	}
}

func (r *TagResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *TagResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan tagModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || !r.data.ready(&resp.Diagnostics) {
		return
	}
	repo, name := plan.Repo.ValueString(), plan.Name.ValueString()
	_, err := r.data.client.CreateRepoTag(ctx, repo, vers.CreateRepoTagRequest{
		TagName: name, CommitID: plan.CommitID.ValueString(), Description: plan.Description.ValueString(),
	})
	if err != nil {
		advice := ""
		switch {
		case vers.IsConflict(err):
			advice = fmt.Sprintf("Tag %s:%s already exists. Import it: terraform import <address> %s:%s", repo, name, repo, name)
		case vers.IsNotFound(err):
			advice = fmt.Sprintf("Check that repository %q and commit %s exist.", repo, plan.CommitID.ValueString())
		}
		resp.Diagnostics.AddError("Cannot create tag", apiErrorDetail(err, advice))
		return
	}
	r.readInto(ctx, &plan, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *TagResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state tagModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.data.ready(&resp.Diagnostics) {
		return
	}
	info, err := r.data.client.GetRepoTag(ctx, state.Repo.ValueString(), state.Name.ValueString())
	if vers.IsNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read tag", apiErrorDetail(err, ""))
		return
	}
	fillTag(&state, state.Repo.ValueString(), info)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *TagResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state tagModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.data.ready(&resp.Diagnostics) {
		return
	}
	update := tagUpdateRequest(plan.CommitID, state.CommitID, plan.Description, state.Description)
	err := r.data.client.UpdateRepoTag(ctx, plan.Repo.ValueString(), plan.Name.ValueString(), update)
	if err != nil {
		resp.Diagnostics.AddError("Cannot move tag", apiErrorDetail(err, "Check that the commit exists: data \"vers_commit\" can look it up."))
		return
	}
	r.readInto(ctx, &plan, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *TagResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state tagModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.data.ready(&resp.Diagnostics) {
		return
	}
	err := r.data.client.DeleteRepoTag(ctx, state.Repo.ValueString(), state.Name.ValueString())
	if err != nil && !vers.IsNotFound(err) {
		resp.Diagnostics.AddError("Cannot delete tag", apiErrorDetail(err, ""))
	}
}

func (r *TagResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	parsed, err := ref.ParseLocal(req.ID)
	if err != nil {
		resp.Diagnostics.AddError("Invalid import id", err.Error()+"\n\nImport a tag as repo:tag, e.g. terraform import vers_tag.latest my-app:latest")
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("repo"), parsed.Repo)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), parsed.Tag)...)
}

// readInto refreshes computed values after a write.
func (r *TagResource) readInto(ctx context.Context, m *tagModel, diags interface{ AddError(string, string) }) {
	info, err := r.data.client.GetRepoTag(ctx, m.Repo.ValueString(), m.Name.ValueString())
	if err != nil {
		diags.AddError("Cannot read tag after writing it", apiErrorDetail(err, "The write went through; the next apply reads the tag again."))
		// State cannot hold unknown values after apply: record what is known.
		m.ID = types.StringValue(m.Repo.ValueString() + ":" + m.Name.ValueString())
		m.Reference = m.ID
		nullUnknown(&m.TagID, &m.CreatedAt, &m.UpdatedAt)
		return
	}
	fillTag(m, m.Repo.ValueString(), info)
}

func fillTag(m *tagModel, repo string, info *vers.RepoTagInfo) {
	m.ID = types.StringValue(repo + ":" + info.TagName)
	m.Name = types.StringValue(info.TagName)
	m.CommitID = types.StringValue(info.CommitID)
	m.Description = tagDescription(info.Description)
	m.Reference = types.StringValue(repo + ":" + info.TagName)
	m.TagID = types.StringValue(info.TagID)
	m.CreatedAt = types.StringValue(info.CreatedAt)
	m.UpdatedAt = types.StringValue(info.UpdatedAt)
}

var _ validator.String = refValidator{}
