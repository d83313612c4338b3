package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

var _ datasource.DataSourceWithConfigure = &TagDataSource{}

// TagDataSource reads one repository tag: the usual way to find the commit
// to roll back to (data.vers_tag.previous.commit_id).
type TagDataSource struct{ data *providerData }

type tagDataModel struct {
	Repo        types.String `tfsdk:"repo"`
	Name        types.String `tfsdk:"name"`
	CommitID    types.String `tfsdk:"commit_id"`
	Description types.String `tfsdk:"description"`
	Reference   types.String `tfsdk:"reference"`
	TagID       types.String `tfsdk:"tag_id"`
	CreatedAt   types.String `tfsdk:"created_at"`
	UpdatedAt   types.String `tfsdk:"updated_at"`
}

var tagAttrTypes = map[string]attr.Type{
	"repo": types.StringType, "name": types.StringType, "commit_id": types.StringType, "description": types.StringType,
	"reference": types.StringType, "tag_id": types.StringType, "created_at": types.StringType, "updated_at": types.StringType,
}

func newTagDataModel(repo string, t vers.RepoTagInfo) tagDataModel {
	return tagDataModel{
		Repo: types.StringValue(repo), Name: types.StringValue(t.TagName), CommitID: types.StringValue(t.CommitID),
		Description: optionalString(t.Description), Reference: types.StringValue(repo + ":" + t.TagName),
		TagID: types.StringValue(t.TagID), CreatedAt: types.StringValue(t.CreatedAt), UpdatedAt: types.StringValue(t.UpdatedAt),
	}
}

func tagComputedAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"commit_id":   schema.StringAttribute{Computed: true, MarkdownDescription: "Commit the tag points at."},
		"description": schema.StringAttribute{Computed: true, MarkdownDescription: "Description."},
		"reference":   schema.StringAttribute{Computed: true, MarkdownDescription: "`repo:tag`."},
		"tag_id":      schema.StringAttribute{Computed: true, MarkdownDescription: "Tag UUID."},
		"created_at":  schema.StringAttribute{Computed: true, MarkdownDescription: "Creation time (RFC 3339)."},
		"updated_at":  schema.StringAttribute{Computed: true, MarkdownDescription: "Time of the last move (RFC 3339)."},
	}
}

func NewTagDataSource() datasource.DataSource { return &TagDataSource{} }

func (d *TagDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_tag"
}

func (d *TagDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	attrs := tagComputedAttributes()
	attrs["repo"] = schema.StringAttribute{Required: true, Validators: nameValidators(), MarkdownDescription: "Repository name."}
	attrs["name"] = schema.StringAttribute{Required: true, Validators: nameValidators(), MarkdownDescription: "Tag name."}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads a repository tag, e.g. the dated tag to roll `latest` back to.",
		Attributes:          attrs,
	}
}

func (d *TagDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *TagDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m tagDataModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || !d.data.ready(&resp.Diagnostics) {
		return
	}
	info, err := d.data.client.GetRepoTag(ctx, m.Repo.ValueString(), m.Name.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Cannot read tag", apiErrorDetail(err, ""))
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, newTagDataModel(m.Repo.ValueString(), *info))...)
}
