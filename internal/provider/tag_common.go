package provider

import (
	"context"
	"errors"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// vers_tag (repository tags) and vers_commit_tag (legacy organization tags)
// are the same object on two API paths, so they are one resource, tagResource,
// with an adapter (tagKind) per path: repoTags in resource_tag.go and
// commitTags in resource_commit_tag.go. A fix to one reaches both.

var (
	_ resource.ResourceWithConfigure   = &tagResource{}
	_ resource.ResourceWithImportState = &tagResource{}
)

// tagKind is how the two tag resources differ in behaviour: API path,
// model and import id.
type tagKind interface {
	newModel() tagState
	create(ctx context.Context, c *vers.Client, m tagState) error
	get(ctx context.Context, c *vers.Client, m tagState) (*vers.TagInfo, error)
	update(ctx context.Context, c *vers.Client, m tagState, u vers.UpdateTagRequest) error
	delete(ctx context.Context, c *vers.Client, m tagState) error
	// missingAdvice says what to check when the create answers 404.
	missingAdvice(m tagState) string
	// parseImportID reads the identifying attributes from an import id;
	// its error says how to write one.
	parseImportID(id string) (map[string]string, error)
}

// tagFields are the attributes both tag resources hold.
type tagFields struct {
	ID          types.String `tfsdk:"id"`
	Name        types.String `tfsdk:"name"`
	CommitID    types.String `tfsdk:"commit_id"`
	Description types.String `tfsdk:"description"`
	TagID       types.String `tfsdk:"tag_id"`
	CreatedAt   types.String `tfsdk:"created_at"`
	UpdatedAt   types.String `tfsdk:"updated_at"`
}

// tagState is a tag resource's model.
type tagState interface {
	fields() *tagFields
	// address is how the tag is written and imported: repo:tag or name.
	address() string
	// setID sets the id, and whatever else follows from the name.
	setID()
}

func (f *tagFields) fields() *tagFields { return f }

// tagResource is vers_tag or vers_commit_tag, by its kind. Moving a tag
// (commit_id) is an in-place PATCH, never a delete-and-create: that is how
// a team promotes a build and how on-call rolls back, and the name never
// stops resolving in between.
type tagResource struct {
	typeSuffix string // "_tag"
	noun       string // what messages call it: "tag"
	schema     schema.Schema
	kind       tagKind
	data       *providerData
}

func (r *tagResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + r.typeSuffix
}

func (r *tagResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = r.schema
}

func (r *tagResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *tagResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	plan := r.kind.newModel()
	resp.Diagnostics.Append(req.Plan.Get(ctx, plan)...)
	if resp.Diagnostics.HasError() || !r.data.ready(&resp.Diagnostics) {
		return
	}
	if err := r.kind.create(ctx, r.data.client, plan); err != nil {
		resp.Diagnostics.AddError("Cannot create "+r.noun, apiErrorDetail(err, r.createAdvice(err, plan)))
		return
	}
	r.readInto(ctx, plan, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

// createAdvice says what to do about a failed create.
func (r *tagResource) createAdvice(err error, m tagState) string {
	var dup *vers.DuplicateCreateError
	if vers.IsNotFound(err) && !errors.As(err, &dup) {
		return r.kind.missingAdvice(m)
	}
	return importAdvice(err, r.noun, m.address())
}

func (r *tagResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	state := r.kind.newModel()
	resp.Diagnostics.Append(req.State.Get(ctx, state)...)
	if resp.Diagnostics.HasError() || !r.data.ready(&resp.Diagnostics) {
		return
	}
	info, err := r.kind.get(ctx, r.data.client, state)
	if vers.IsNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read "+r.noun, apiErrorDetail(err, ""))
		return
	}
	fillTag(state, info)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *tagResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	plan, state := r.kind.newModel(), r.kind.newModel()
	resp.Diagnostics.Append(req.Plan.Get(ctx, plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, state)...)
	if resp.Diagnostics.HasError() || !r.data.ready(&resp.Diagnostics) {
		return
	}
	p, s := plan.fields(), state.fields()
	if err := r.kind.update(ctx, r.data.client, plan, tagUpdateRequest(p.CommitID, s.CommitID, p.Description, s.Description)); err != nil {
		resp.Diagnostics.AddError("Cannot move "+r.noun, apiErrorDetail(err, "Check that the commit exists: data \"vers_commit\" can look it up."))
		return
	}
	r.readInto(ctx, plan, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *tagResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	state := r.kind.newModel()
	resp.Diagnostics.Append(req.State.Get(ctx, state)...)
	if resp.Diagnostics.HasError() || !r.data.ready(&resp.Diagnostics) {
		return
	}
	if err := r.kind.delete(ctx, r.data.client, state); err != nil && !vers.IsNotFound(err) {
		resp.Diagnostics.AddError("Cannot delete "+r.noun, apiErrorDetail(err, ""))
	}
}

func (r *tagResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	attrs, err := r.kind.parseImportID(req.ID)
	if err != nil {
		resp.Diagnostics.AddError("Invalid import id", err.Error())
		return
	}
	for name, value := range attrs {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(name), value)...)
	}
}

// readInto refreshes computed values after a write.
func (r *tagResource) readInto(ctx context.Context, m tagState, diags interface{ AddError(string, string) }) {
	info, err := r.kind.get(ctx, r.data.client, m)
	if err != nil {
		diags.AddError("Cannot read "+r.noun+" after writing it", apiErrorDetail(err, "The write went through; the next apply reads the tag again."))
		// State cannot hold unknown values after apply: record what is known.
		m.setID()
		f := m.fields()
		nullUnknown(&f.TagID, &f.CreatedAt, &f.UpdatedAt)
		return
	}
	fillTag(m, info)
}

// fillTag copies an API tag into m.
func fillTag(m tagState, info *vers.TagInfo) {
	f := m.fields()
	f.Name = types.StringValue(info.TagName)
	f.CommitID = types.StringValue(info.CommitID)
	f.Description = tagDescription(info.Description)
	f.TagID = types.StringValue(info.TagID)
	f.CreatedAt = types.StringValue(info.CreatedAt)
	f.UpdatedAt = types.StringValue(info.UpdatedAt)
	m.setID()
}

// tagResourceSchema is a tag resource's schema: its own attributes (names,
// id) plus the ones both kinds share.
func tagResourceSchema(description string, own map[string]schema.Attribute) schema.Schema {
	for k, v := range tagMovableAttributes() {
		own[k] = v
	}
	return schema.Schema{MarkdownDescription: description, Attributes: own}
}

// tagNameAttribute is a name that identifies the tag.
func tagNameAttribute(description string) schema.StringAttribute {
	return schema.StringAttribute{
		MarkdownDescription: description + " Changing it replaces the tag.",
		Required:            true,
		Validators:          nameValidators(),
		PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
	}
}

// computedKept is a computed attribute that keeps its value across plans.
func computedKept(description string) schema.StringAttribute {
	return schema.StringAttribute{
		MarkdownDescription: description,
		Computed:            true,
		PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
	}
}

// tagMovableAttributes are the attributes both tag resources have besides
// their names: the target commit, the description and server timestamps.
func tagMovableAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"commit_id": schema.StringAttribute{
			MarkdownDescription: "Commit the tag points at. Changed in place (promotion, rollback).",
			Required:            true,
			Validators:          commitIDValidators(),
		},
		"description": schema.StringAttribute{
			MarkdownDescription: "Free text, e.g. `main @ 3f2c1a9e`. Changed in place; removing it clears the description. " +
				"Must not be empty: the API reports an empty description as none, so omit the attribute instead.",
			Optional:   true,
			Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
		},
		"tag_id":     computedKept("The tag's UUID."),
		"created_at": computedKept("Creation time (RFC 3339)."),
		"updated_at": schema.StringAttribute{
			MarkdownDescription: "Time of the last move or description change (RFC 3339).",
			Computed:            true,
		},
	}
}

// tagUpdateRequest sends only what changed: an absent description leaves it
// alone, null clears it, a string sets it (vers.UpdateTagRequest's three
// states).
func tagUpdateRequest(planCommit, stateCommit, planDescription, stateDescription types.String) vers.UpdateTagRequest {
	update := vers.UpdateTagRequest{}
	if !planCommit.Equal(stateCommit) {
		update.CommitID = planCommit.ValueString()
	}
	if !planDescription.Equal(stateDescription) {
		if planDescription.IsNull() {
			update.ClearDescription = true
		} else {
			update.Description = stringPtr(planDescription)
		}
	}
	return update
}

// tagDescription maps the API's description onto state: a cleared
// description may come back as "" or null, and both are null here.
func tagDescription(d *string) types.String {
	if d == nil || *d == "" {
		return types.StringNull()
	}
	return types.StringValue(*d)
}
