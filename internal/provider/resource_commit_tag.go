package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vers-sh/terraform-provider-vers/internal/ref"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

var (
	_ resource.ResourceWithConfigure   = &CommitTagResource{}
	_ resource.ResourceWithImportState = &CommitTagResource{}
)

// CommitTagResource manages a legacy org-level tag (/commit_tags): one flat
// namespace per organization, the names `FROM <name>` lines resolve first.
// It behaves like vers_tag: moving it is an in-place PATCH, never a
// delete-and-create, so the name always resolves.
type CommitTagResource struct{ data *providerData }

type commitTagModel struct {
	ID          types.String `tfsdk:"id"`
	Name        types.String `tfsdk:"name"`
	CommitID    types.String `tfsdk:"commit_id"`
	Description types.String `tfsdk:"description"`
	TagID       types.String `tfsdk:"tag_id"`
	CreatedAt   types.String `tfsdk:"created_at"`
	UpdatedAt   types.String `tfsdk:"updated_at"`
}

func NewCommitTagResource() resource.Resource { return &CommitTagResource{} }

func (r *CommitTagResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_commit_tag"
}

func (r *CommitTagResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A legacy organization-level commit tag (one flat namespace per organization, e.g. `production`).\n\n" +
			"Prefer `vers_tag`: repository tags are scoped to a repository, can be published and forked, and are " +
			"where the Vers API is heading. Use this resource for names that existing tooling already resolves, such as " +
			"`FROM production` in a Dockerfile or `vers build -t`.\n\n" +
			"Changing `commit_id` or `description` updates the tag **in place**, so the name never stops resolving. " +
			"If someone moves or deletes the tag outside Terraform, the next plan puts it back.",
		Attributes: withTagMovableAttributes(map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "The tag name (same as `name`).",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				MarkdownDescription: "Tag name, unique in the organization: 1–64 letters, digits, `.`, `_` or `-`. Changing it replaces the tag.",
				Required:            true,
				Validators:          nameValidators(),
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
		}),
	}
}

func (r *CommitTagResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *CommitTagResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan commitTagModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || !r.data.ready(&resp.Diagnostics) {
		return
	}
	name := plan.Name.ValueString()
	_, err := r.data.client.CreateCommitTag(ctx, vers.CreateTagRequest{
		TagName: name, CommitID: plan.CommitID.ValueString(), Description: plan.Description.ValueString(),
	})
	if err != nil {
		resp.Diagnostics.AddError("Cannot create commit tag", apiErrorDetail(err, commitTagCreateAdvice(err, name, plan.CommitID.ValueString())))
		return
	}
	r.readInto(ctx, &plan, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

// commitTagCreateAdvice says what to do about a failed create. A
// DuplicateCreateError already carries its own advice (a retry after a lost
// response found a different tag under the name).
func commitTagCreateAdvice(err error, name, commitID string) string {
	var dup *vers.DuplicateCreateError
	switch {
	case errors.As(err, &dup):
		return ""
	case vers.IsConflict(err):
		return fmt.Sprintf("Commit tag %q already exists in this organization. Import it: terraform import <address> %s", name, name)
	case vers.IsNotFound(err):
		return fmt.Sprintf("Check that commit %s exists: data \"vers_commit\" can look it up.", commitID)
	}
	return ""
}

func (r *CommitTagResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state commitTagModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.data.ready(&resp.Diagnostics) {
		return
	}
	info, err := r.data.client.GetCommitTag(ctx, state.Name.ValueString())
	if vers.IsNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read commit tag", apiErrorDetail(err, ""))
		return
	}
	fillCommitTag(&state, info)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *CommitTagResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state commitTagModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.data.ready(&resp.Diagnostics) {
		return
	}
	update := tagUpdateRequest(plan.CommitID, state.CommitID, plan.Description, state.Description)
	err := r.data.client.UpdateCommitTag(ctx, plan.Name.ValueString(), update)
	if err != nil {
		resp.Diagnostics.AddError("Cannot move commit tag", apiErrorDetail(err, "Check that the commit exists: data \"vers_commit\" can look it up."))
		return
	}
	r.readInto(ctx, &plan, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *CommitTagResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state commitTagModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.data.ready(&resp.Diagnostics) {
		return
	}
	err := r.data.client.DeleteCommitTag(ctx, state.Name.ValueString())
	if err != nil && !vers.IsNotFound(err) {
		resp.Diagnostics.AddError("Cannot delete commit tag", apiErrorDetail(err, ""))
	}
}

func (r *CommitTagResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if !ref.ValidName(req.ID) {
		resp.Diagnostics.AddError("Invalid import id",
			fmt.Sprintf("%q is not a commit tag name (1–64 letters, digits, '.', '_' or '-').\n\n"+
				"Import a commit tag by its name, e.g. terraform import vers_commit_tag.production production. "+
				"A repo:tag reference is a repository tag: import it as vers_tag instead.", req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), req.ID)...)
}

// readInto refreshes computed values after a write.
func (r *CommitTagResource) readInto(ctx context.Context, m *commitTagModel, diags interface{ AddError(string, string) }) {
	info, err := r.data.client.GetCommitTag(ctx, m.Name.ValueString())
	if err != nil {
		diags.AddError("Cannot read commit tag after writing it", apiErrorDetail(err, "The write went through; the next apply reads the tag again."))
		// State cannot hold unknown values after apply: record what is known.
		m.ID = m.Name
		nullUnknown(&m.TagID, &m.CreatedAt, &m.UpdatedAt)
		return
	}
	fillCommitTag(m, info)
}

func fillCommitTag(m *commitTagModel, info *vers.TagInfo) {
	m.ID = types.StringValue(info.TagName)
	m.Name = types.StringValue(info.TagName)
	m.CommitID = types.StringValue(info.CommitID)
	m.Description = tagDescription(info.Description)
	m.TagID = types.StringValue(info.TagID)
	m.CreatedAt = types.StringValue(info.CreatedAt)
	m.UpdatedAt = types.StringValue(info.UpdatedAt)
}
