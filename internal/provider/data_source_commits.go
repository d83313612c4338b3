package provider

import (
	"context"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var _ datasource.DataSourceWithConfigure = &CommitsDataSource{}

// CommitsDataSource lists the organisation's commits with simple filters.
type CommitsDataSource struct{ data *providerData }

type commitsModel struct {
	NamePrefix types.String `tfsdk:"name_prefix"`
	IsPublic   types.Bool   `tfsdk:"is_public"`
	BuildsOnly types.Bool   `tfsdk:"builds_only"`
	Commits    types.List   `tfsdk:"commits"`
	IDs        types.List   `tfsdk:"ids"`
}

func NewCommitsDataSource() datasource.DataSource { return &CommitsDataSource{} }

func (d *CommitsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_commits"
}

func (d *CommitsDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Lists the organisation's commits, newest first, optionally filtered.",
		Attributes: map[string]schema.Attribute{
			"name_prefix": schema.StringAttribute{Optional: true, MarkdownDescription: "Keep commits whose name starts with this prefix."},
			"is_public":   schema.BoolAttribute{Optional: true, MarkdownDescription: "Keep only public (`true`) or only private (`false`) commits."},
			"builds_only": schema.BoolAttribute{Optional: true, MarkdownDescription: "Keep only the final commits of `vers_build` runs (those with image metadata)."},
			"ids":         schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Ids of the matching commits, newest first."},
			"commits": schema.ListNestedAttribute{
				Computed:            true,
				MarkdownDescription: "The matching commits, newest first.",
				NestedObject:        schema.NestedAttributeObject{Attributes: withCommitID(commitComputedAttributes())},
			},
		},
	}
}

func withCommitID(attrs map[string]schema.Attribute) map[string]schema.Attribute {
	attrs["commit_id"] = schema.StringAttribute{Computed: true, MarkdownDescription: "Commit id."}
	return attrs
}

func (d *CommitsDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *CommitsDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m commitsModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || !d.data.ready(&resp.Diagnostics) {
		return
	}
	all, err := d.data.commits.All(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Cannot list commits", apiErrorDetail(err, ""))
		return
	}
	// Empty, not nil: no match must be an empty list (null would break length()).
	items := []commitModel{}
	ids := []string{}
	for _, c := range all {
		if !m.NamePrefix.IsNull() && !strings.HasPrefix(c.Name, m.NamePrefix.ValueString()) {
			continue
		}
		if !m.IsPublic.IsNull() && c.IsPublic != m.IsPublic.ValueBool() {
			continue
		}
		cm, diags := newCommitModel(ctx, c)
		resp.Diagnostics.Append(diags...)
		if m.BuildsOnly.ValueBool() && cm.Image.IsNull() {
			continue
		}
		items = append(items, cm)
	}
	// RFC 3339 UTC strings sort chronologically; ties break on id for a stable order.
	sort.SliceStable(items, func(i, j int) bool {
		a, b := items[i], items[j]
		if a.CreatedAt.ValueString() != b.CreatedAt.ValueString() {
			return a.CreatedAt.ValueString() > b.CreatedAt.ValueString()
		}
		return a.CommitID.ValueString() < b.CommitID.ValueString()
	})
	for _, it := range items {
		ids = append(ids, it.CommitID.ValueString())
	}
	commits, diags := types.ListValueFrom(ctx, types.ObjectType{AttrTypes: commitAttrTypes}, items)
	resp.Diagnostics.Append(diags...)
	idList, diags := types.ListValueFrom(ctx, types.StringType, ids)
	resp.Diagnostics.Append(diags...)
	m.Commits, m.IDs = commits, idList
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}
