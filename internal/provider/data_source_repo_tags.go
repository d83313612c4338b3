package provider

import (
	"context"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

var _ datasource.DataSourceWithConfigure = &RepoTagsDataSource{}

// RepoTagsDataSource lists a repository's tags, e.g. to keep a sliding
// window of dated build tags.
type RepoTagsDataSource struct{ data *providerData }

type repoTagsModel struct {
	Repo       types.String `tfsdk:"repo"`
	NamePrefix types.String `tfsdk:"name_prefix"`
	// IgnoreMissingRepo lets a configuration that creates the repository
	// read its tags in the same plan (the first run sees none).
	IgnoreMissingRepo types.Bool `tfsdk:"ignore_missing_repo"`
	Tags              types.List `tfsdk:"tags"`
	Names             types.List `tfsdk:"names"`
}

func NewRepoTagsDataSource() datasource.DataSource { return &RepoTagsDataSource{} }

func (d *RepoTagsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_repo_tags"
}

func (d *RepoTagsDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	nested := tagComputedAttributes()
	nested["repo"] = schema.StringAttribute{Computed: true, MarkdownDescription: "Repository name."}
	nested["name"] = schema.StringAttribute{Computed: true, MarkdownDescription: "Tag name."}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Lists the tags of a repository, sorted by name.",
		Attributes: map[string]schema.Attribute{
			"repo":        schema.StringAttribute{Required: true, Validators: nameValidators(), MarkdownDescription: "Repository name."},
			"name_prefix": schema.StringAttribute{Optional: true, MarkdownDescription: "Keep tags whose name starts with this prefix (e.g. `build-`)."},
			"ignore_missing_repo": schema.BoolAttribute{Optional: true, MarkdownDescription: "Return no tags instead of an error when the " +
				"repository does not exist yet, so the configuration that creates it can also read its tags (first run). Default `false`."},
			"names": schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Names of the matching tags, sorted."},
			"tags": schema.ListNestedAttribute{
				Computed:            true,
				MarkdownDescription: "The matching tags, sorted by name.",
				NestedObject:        schema.NestedAttributeObject{Attributes: nested},
			},
		},
	}
}

func (d *RepoTagsDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *RepoTagsDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m repoTagsModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || !d.data.ready(&resp.Diagnostics) {
		return
	}
	repo := m.Repo.ValueString()
	list, err := d.data.client.ListRepoTags(ctx, repo)
	if err != nil && vers.IsNotFound(err) && m.IgnoreMissingRepo.ValueBool() {
		list, err = &vers.ListRepoTagsResponse{}, nil
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot list tags", apiErrorDetail(err, ""))
		return
	}
	items := []tagDataModel{}
	names := []string{}
	for _, t := range list.Tags {
		if !m.NamePrefix.IsNull() && !strings.HasPrefix(t.TagName, m.NamePrefix.ValueString()) {
			continue
		}
		items = append(items, newTagDataModel(repo, t))
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Name.ValueString() < items[j].Name.ValueString() })
	for _, it := range items {
		names = append(names, it.Name.ValueString())
	}
	tags, diags := types.ListValueFrom(ctx, types.ObjectType{AttrTypes: tagAttrTypes}, items)
	resp.Diagnostics.Append(diags...)
	nameList, diags := types.ListValueFrom(ctx, types.StringType, names)
	resp.Diagnostics.Append(diags...)
	m.Tags, m.Names = tags, nameList
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}
