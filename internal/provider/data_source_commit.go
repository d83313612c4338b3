package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/datasourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var (
	_ datasource.DataSourceWithConfigure        = &CommitDataSource{}
	_ datasource.DataSourceWithConfigValidators = &CommitDataSource{}
)

// CommitDataSource reads one commit by id or through a repo:tag reference.
type CommitDataSource struct{ data *providerData }

type commitDataModel struct {
	Ref types.String `tfsdk:"ref"`
	commitModel
}

func NewCommitDataSource() datasource.DataSource { return &CommitDataSource{} }

func (d *CommitDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_commit"
}

func (d *CommitDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	attrs := commitComputedAttributes()
	attrs["commit_id"] = schema.StringAttribute{
		MarkdownDescription: "Commit id to read. Exactly one of `commit_id` and `ref`.",
		Optional:            true, Computed: true,
		Validators: commitIDValidators(),
	}
	attrs["ref"] = schema.StringAttribute{
		MarkdownDescription: "`repo:tag` whose commit to read (e.g. `my-app:latest`).",
		Optional:            true,
		Validators:          []validator.String{refValidator{local: true}},
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads one commit: by id, or the commit a `repo:tag` points at. The API has no single-commit " +
			"lookup, so the provider lists the organisation's commits once per run and shares the listing across every " +
			"commit lookup. Includes the image metadata (`CMD`, `EXPOSE`, …) that `vers_build` records.",
		Attributes: attrs,
	}
}

func (d *CommitDataSource) ConfigValidators(_ context.Context) []datasource.ConfigValidator {
	return []datasource.ConfigValidator{datasourcevalidator.ExactlyOneOf(path.MatchRoot("commit_id"), path.MatchRoot("ref"))}
}

func (d *CommitDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *CommitDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m commitDataModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || !d.data.ready(&resp.Diagnostics) {
		return
	}
	id := m.CommitID.ValueString()
	if !m.Ref.IsNull() {
		var ok bool
		if id, ok = resolveRef(ctx, d.data.client, m.Ref.ValueString(), &resp.Diagnostics); !ok {
			return
		}
	}
	info, ok, err := d.data.commits.Get(ctx, id)
	if err != nil {
		resp.Diagnostics.AddError("Cannot list commits", apiErrorDetail(err, ""))
		return
	}
	if !ok {
		resp.Diagnostics.AddError("Commit not found", fmt.Sprintf("No commit %s exists in this organisation (it may have been deleted).", id))
		return
	}
	cm, diags := newCommitModel(ctx, info)
	resp.Diagnostics.Append(diags...)
	m.commitModel = cm
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}
