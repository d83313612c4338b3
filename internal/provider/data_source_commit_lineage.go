package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

var _ datasource.DataSourceWithConfigure = &CommitLineageDataSource{}

// CommitLineageDataSource reads a commit's ancestry chain.
type CommitLineageDataSource struct{ data *providerData }

type commitLineageModel struct {
	CommitID types.String `tfsdk:"commit_id"`
	Parents  types.List   `tfsdk:"parents"`
	IDs      types.List   `tfsdk:"ids"`
}

func NewCommitLineageDataSource() datasource.DataSource { return &CommitLineageDataSource{} }

func (d *CommitLineageDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_commit_lineage"
}

func (d *CommitLineageDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The ancestry chain of a commit as Vers reports it (`GET /vm/commits/{id}/parents`): " +
			"for a `vers_build` result, every layer down to the base.",
		Attributes: map[string]schema.Attribute{
			"commit_id": schema.StringAttribute{Required: true, Validators: commitIDValidators(), MarkdownDescription: "Commit whose ancestry to read."},
			"ids":       schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Ids of the chain, in the order Vers returns it."},
			"parents": schema.ListNestedAttribute{
				Computed:            true,
				MarkdownDescription: "The chain's commits.",
				NestedObject:        schema.NestedAttributeObject{Attributes: withCommitID(commitComputedAttributes())},
			},
		},
	}
}

func (d *CommitLineageDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *CommitLineageDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m commitLineageModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || !d.data.ready(&resp.Diagnostics) {
		return
	}
	chain, err := d.data.client.GetCommitParents(ctx, m.CommitID.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Cannot read commit lineage", apiErrorDetail(err, ""))
		return
	}
	items := make([]commitModel, 0, len(chain))
	ids := make([]string, 0, len(chain))
	for _, e := range chain {
		cm, diags := newCommitModel(ctx, vers.CommitInfo{
			CommitID: e.ID, Name: e.Name, OwnerID: e.OwnerID, CreatedAt: e.CreatedAt, IsPublic: e.IsPublic,
			Description: e.Description, ParentVMID: e.ParentVMID, GrandparentCommitID: e.GrandparentCommitID,
		})
		resp.Diagnostics.Append(diags...)
		items = append(items, cm)
		ids = append(ids, e.ID)
	}
	parents, diags := types.ListValueFrom(ctx, types.ObjectType{AttrTypes: commitAttrTypes}, items)
	resp.Diagnostics.Append(diags...)
	idList, diags := types.ListValueFrom(ctx, types.StringType, ids)
	resp.Diagnostics.Append(diags...)
	m.Parents, m.IDs = parents, idList
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}
