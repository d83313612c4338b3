package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

var (
	_ resource.ResourceWithConfigure   = &RepoResource{}
	_ resource.ResourceWithImportState = &RepoResource{}
)

// RepoResource manages a Vers repository.
type RepoResource struct{ data *providerData }

type repoModel struct {
	ID                types.String `tfsdk:"id"`
	Name              types.String `tfsdk:"name"`
	Description       types.String `tfsdk:"description"`
	RemoteDescription types.String `tfsdk:"remote_description"`
	IsPublic          types.Bool   `tfsdk:"is_public"`
	RepoID            types.String `tfsdk:"repo_id"`
	CreatedAt         types.String `tfsdk:"created_at"`
}

func NewRepoResource() resource.Resource { return &RepoResource{} }

func (r *RepoResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_repo"
}

func (r *RepoResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A Vers repository: a named collection of tags (`my-app:latest`) that point at commits.\n\n" +
			"**Description changes never replace the repository.** The Vers API has no call to change a repository's " +
			"description, and replacing a repository deletes every tag in it. So a changed `description` is an in-place " +
			"update that Terraform records and warns about; `remote_description` shows what Vers holds. To really change " +
			"it, replace the repository deliberately with `terraform apply -replace`, knowing its tags go with it.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "The repository name (same as `name`).",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				MarkdownDescription: "Repository name, unique in the organisation: letters, digits, `.`, `_`, `-`; 1 to 64 characters. " +
					"Changing it replaces the repository (and deletes its tags).",
				Required:      true,
				Validators:    nameValidators(),
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"description": schema.StringAttribute{
				MarkdownDescription: "Description set when the repository is created. Later changes are recorded in state only (see above).",
				Optional:            true,
			},
			"remote_description": schema.StringAttribute{
				MarkdownDescription: "The description Vers holds for the repository.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"is_public": schema.BoolAttribute{
				MarkdownDescription: "Whether other organisations can see and fork the repository. Changed in place. Defaults to `false`.",
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(false),
			},
			"repo_id": schema.StringAttribute{
				MarkdownDescription: "The repository's UUID.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"created_at": schema.StringAttribute{
				MarkdownDescription: "Creation time (RFC 3339).",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
		},
	}
}

func (r *RepoResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *RepoResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan repoModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || !r.data.ready(&resp.Diagnostics) {
		return
	}
	c := r.data.client
	created, err := c.CreateRepository(ctx, vers.CreateRepositoryRequest{Name: plan.Name.ValueString(), Description: plan.Description.ValueString()})
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("name"), "Cannot create repository",
			apiErrorDetail(err, importAdvice(err, "repository", plan.Name.ValueString())))
		return
	}
	// From here on the repository exists: whatever fails next, state must
	// record it (Terraform taints it) rather than lose track of it.
	saveCreated := func() {
		plan.ID, plan.RepoID = plan.Name, types.StringValue(created.RepoID)
		plan.RemoteDescription = types.StringNull()
		nullUnknown(&plan.CreatedAt)
		if plan.IsPublic.IsUnknown() {
			plan.IsPublic = types.BoolValue(false)
		}
		resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
	}
	if plan.IsPublic.ValueBool() {
		if err := c.SetRepositoryVisibility(ctx, plan.Name.ValueString(), true); err != nil {
			resp.Diagnostics.AddError("Repository created but not made public", apiErrorDetail(err, "Apply again to retry."))
			plan.IsPublic = types.BoolValue(false)
			saveCreated()
			return
		}
	}
	info, err := c.GetRepository(ctx, plan.Name.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the new repository", apiErrorDetail(err, "The repository was created; the next apply reads it again."))
		saveCreated()
		return
	}
	fillRepo(&plan, info)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *RepoResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state repoModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.data.ready(&resp.Diagnostics) {
		return
	}
	info, err := r.data.client.GetRepository(ctx, state.Name.ValueString())
	if vers.IsNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read repository", apiErrorDetail(err, ""))
		return
	}
	fillRepo(&state, info)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *RepoResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state repoModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.data.ready(&resp.Diagnostics) {
		return
	}
	if !plan.IsPublic.Equal(state.IsPublic) {
		if err := r.data.client.SetRepositoryVisibility(ctx, plan.Name.ValueString(), plan.IsPublic.ValueBool()); err != nil {
			resp.Diagnostics.AddError("Cannot change repository visibility", apiErrorDetail(err, ""))
			return
		}
	}
	if !plan.Description.Equal(state.Description) {
		resp.Diagnostics.AddAttributeWarning(path.Root("description"), "Repository description recorded in state only",
			fmt.Sprintf("The Vers API cannot change the description of repository %q, and replacing it would delete its tags. "+
				"Terraform now records the new description; Vers keeps the old one (see remote_description). "+
				"Use terraform apply -replace to recreate the repository if you accept losing its tags.", plan.Name.ValueString()))
	}
	info, err := r.data.client.GetRepository(ctx, plan.Name.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Cannot read repository", apiErrorDetail(err, ""))
		return
	}
	fillRepo(&plan, info)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *RepoResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state repoModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.data.ready(&resp.Diagnostics) {
		return
	}
	if err := r.data.client.DeleteRepository(ctx, state.Name.ValueString()); err != nil && !vers.IsNotFound(err) {
		resp.Diagnostics.AddError("Cannot delete repository", apiErrorDetail(err, ""))
	}
}

func (r *RepoResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), req.ID)...)
	// An imported repository adopts the description Vers holds.
	if r.data != nil && r.data.client != nil {
		if info, err := r.data.client.GetRepository(ctx, req.ID); err == nil {
			resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("description"), optionalString(info.Description))...)
		}
	}
}

// fillRepo copies server values into the model. description is left alone: it
// is create-only on Vers and recorded from configuration (see the schema).
func fillRepo(m *repoModel, info *vers.RepositoryInfo) {
	m.ID = types.StringValue(info.Name)
	m.Name = types.StringValue(info.Name)
	m.RepoID = types.StringValue(info.RepoID)
	m.CreatedAt = types.StringValue(info.CreatedAt)
	m.IsPublic = types.BoolValue(info.IsPublic)
	m.RemoteDescription = optionalString(info.Description)
}
