package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var _ datasource.DataSourceWithConfigure = &RepoDataSource{}

// RepoDataSource reads one repository by name.
type RepoDataSource struct{ data *providerData }

type repoDataModel struct {
	Name        types.String `tfsdk:"name"`
	RepoID      types.String `tfsdk:"repo_id"`
	Description types.String `tfsdk:"description"`
	IsPublic    types.Bool   `tfsdk:"is_public"`
	CreatedAt   types.String `tfsdk:"created_at"`
}

func NewRepoDataSource() datasource.DataSource { return &RepoDataSource{} }

func (d *RepoDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_repo"
}

func (d *RepoDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads a repository of your organisation by name.",
		Attributes: map[string]schema.Attribute{
			"name":        schema.StringAttribute{Required: true, Validators: nameValidators(), MarkdownDescription: "Repository name."},
			"repo_id":     schema.StringAttribute{Computed: true, MarkdownDescription: "Repository UUID."},
			"description": schema.StringAttribute{Computed: true, MarkdownDescription: "Description."},
			"is_public":   schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether other organisations can see and fork it."},
			"created_at":  schema.StringAttribute{Computed: true, MarkdownDescription: "Creation time (RFC 3339)."},
		},
	}
}

func (d *RepoDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *RepoDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m repoDataModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || !d.data.ready(&resp.Diagnostics) {
		return
	}
	info, err := d.data.client.GetRepository(ctx, m.Name.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Cannot read repository", apiErrorDetail(err, ""))
		return
	}
	m.RepoID = types.StringValue(info.RepoID)
	m.Description = optionalString(info.Description)
	m.IsPublic = types.BoolValue(info.IsPublic)
	m.CreatedAt = types.StringValue(info.CreatedAt)
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}
