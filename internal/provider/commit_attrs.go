package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vers-sh/terraform-provider-vers/internal/imagemeta"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// imageAttrTypes is the shape of the `image` object vers_build records and
// the commit data sources read back.
var imageAttrTypes = map[string]attr.Type{
	"cmd":           types.ListType{ElemType: types.StringType},
	"entrypoint":    types.ListType{ElemType: types.StringType},
	"env":           types.ListType{ElemType: types.StringType},
	"workdir":       types.StringType,
	"user":          types.StringType,
	"exposed_ports": types.ListType{ElemType: types.StringType},
	"labels":        types.MapType{ElemType: types.StringType},
	"volumes":       types.ListType{ElemType: types.StringType},
	"healthcheck":   types.ListType{ElemType: types.StringType},
	"stop_signal":   types.StringType,
	"shell":         types.ListType{ElemType: types.StringType},
}

type imageModel struct {
	Cmd          []string          `tfsdk:"cmd"`
	Entrypoint   []string          `tfsdk:"entrypoint"`
	Env          []string          `tfsdk:"env"`
	WorkDir      string            `tfsdk:"workdir"`
	User         string            `tfsdk:"user"`
	ExposedPorts []string          `tfsdk:"exposed_ports"`
	Labels       map[string]string `tfsdk:"labels"`
	Volumes      []string          `tfsdk:"volumes"`
	Healthcheck  []string          `tfsdk:"healthcheck"`
	StopSignal   string            `tfsdk:"stop_signal"`
	Shell        []string          `tfsdk:"shell"`
}

// imageObject converts recorded image metadata; nil gives a null object.
func imageObject(ctx context.Context, img *imagemeta.Image) (types.Object, diag.Diagnostics) {
	if img == nil {
		return types.ObjectNull(imageAttrTypes), nil
	}
	m := imageModel{Cmd: img.Cmd, Entrypoint: img.Entrypoint, Env: img.Env, WorkDir: img.WorkingDir,
		User: img.User, ExposedPorts: img.ExposedPorts, Labels: img.Labels,
		Volumes: img.Volumes, StopSignal: img.StopSignal, Shell: img.Shell}
	if img.Healthcheck != nil {
		m.Healthcheck = img.Healthcheck.Test
	}
	for _, l := range []*[]string{&m.Volumes, &m.Healthcheck, &m.Shell} {
		if *l == nil {
			*l = []string{}
		}
	}
	if m.Cmd == nil {
		m.Cmd = []string{}
	}
	if m.Entrypoint == nil {
		m.Entrypoint = []string{}
	}
	if m.Env == nil {
		m.Env = []string{}
	}
	if m.ExposedPorts == nil {
		m.ExposedPorts = []string{}
	}
	if m.Labels == nil {
		m.Labels = map[string]string{}
	}
	return types.ObjectValueFrom(ctx, imageAttrTypes, m)
}

var imageDescriptions = map[string]string{
	"cmd":           "`CMD` (exec form; shell form is recorded as `[\"/bin/sh\", \"-c\", …]`).",
	"entrypoint":    "`ENTRYPOINT`, recorded like `cmd`.",
	"env":           "`ENV` as `NAME=value`, in declaration order.",
	"workdir":       "Final `WORKDIR`.",
	"user":          "Final `USER` (empty for root).",
	"exposed_ports": "`EXPOSE` ports such as `3000/tcp`.",
	"labels":        "`LABEL` key/value pairs.",
	"volumes":       "`VOLUME` paths. Recorded only: a commit snapshots the whole filesystem, and Vers mounts nothing there.",
	"healthcheck":   "`HEALTHCHECK` test as Docker records it (`[\"CMD-SHELL\", \"…\"]`, `[\"CMD\", …]` or `[\"NONE\"]`); its intervals are in the commit record. Vers does not run it.",
	"stop_signal":   "`STOPSIGNAL`. Recorded only: Vers stops VMs through its API.",
	"shell":         "`SHELL` in effect at the end of the build (empty: `/bin/sh -c`).",
}

// imageDataSourceAttribute is the read-only `image` attribute of data sources.
func imageDataSourceAttribute(description string) schema.SingleNestedAttribute {
	attrs := map[string]schema.Attribute{}
	for name, t := range imageAttrTypes {
		switch t.(type) {
		case types.ListType:
			attrs[name] = schema.ListAttribute{ElementType: types.StringType, Computed: true, MarkdownDescription: imageDescriptions[name]}
		case types.MapType:
			attrs[name] = schema.MapAttribute{ElementType: types.StringType, Computed: true, MarkdownDescription: imageDescriptions[name]}
		default:
			attrs[name] = schema.StringAttribute{Computed: true, MarkdownDescription: imageDescriptions[name]}
		}
	}
	return schema.SingleNestedAttribute{MarkdownDescription: description, Computed: true, Attributes: attrs}
}

// commitModel is one commit as data sources expose it.
type commitModel struct {
	CommitID            types.String `tfsdk:"commit_id"`
	Name                types.String `tfsdk:"name"`
	Description         types.String `tfsdk:"description"`
	IsPublic            types.Bool   `tfsdk:"is_public"`
	OwnerID             types.String `tfsdk:"owner_id"`
	CreatedAt           types.String `tfsdk:"created_at"`
	ParentVMID          types.String `tfsdk:"parent_vm_id"`
	GrandparentCommitID types.String `tfsdk:"grandparent_commit_id"`
	BuildID             types.String `tfsdk:"build_id"`
	Image               types.Object `tfsdk:"image"`
}

var commitAttrTypes = map[string]attr.Type{
	"commit_id": types.StringType, "name": types.StringType, "description": types.StringType,
	"is_public": types.BoolType, "owner_id": types.StringType, "created_at": types.StringType,
	"parent_vm_id": types.StringType, "grandparent_commit_id": types.StringType, "build_id": types.StringType,
	"image": types.ObjectType{AttrTypes: imageAttrTypes},
}

func newCommitModel(ctx context.Context, c vers.CommitInfo) (commitModel, diag.Diagnostics) {
	m := commitModel{
		CommitID: types.StringValue(c.CommitID), Name: types.StringValue(c.Name),
		Description: optionalString(c.Description), IsPublic: types.BoolValue(c.IsPublic),
		OwnerID: types.StringValue(c.OwnerID), CreatedAt: types.StringValue(c.CreatedAt),
		ParentVMID: optionalString(c.ParentVMID), GrandparentCommitID: optionalString(c.GrandparentCommitID),
		BuildID: types.StringNull(),
	}
	var img *imagemeta.Image
	if rec, ok := imagemeta.Decode(c.Description); ok {
		m.BuildID = types.StringValue(rec.BuildID)
		img = rec.Image
	}
	var diags diag.Diagnostics
	m.Image, diags = imageObject(ctx, img)
	return m, diags
}

// commitComputedAttributes are the read-only commit fields, shared by
// vers_commit (top level) and vers_commits (list elements).
func commitComputedAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"name":                  schema.StringAttribute{Computed: true, MarkdownDescription: "Commit name."},
		"description":           schema.StringAttribute{Computed: true, MarkdownDescription: "Commit description (for build layers, the JSON build record)."},
		"is_public":             schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the commit is public."},
		"owner_id":              schema.StringAttribute{Computed: true, MarkdownDescription: "Owner id."},
		"created_at":            schema.StringAttribute{Computed: true, MarkdownDescription: "Creation time (RFC 3339)."},
		"parent_vm_id":          schema.StringAttribute{Computed: true, MarkdownDescription: "VM the commit was taken from."},
		"grandparent_commit_id": schema.StringAttribute{Computed: true, MarkdownDescription: "Commit that VM was started from."},
		"build_id":              schema.StringAttribute{Computed: true, MarkdownDescription: "The `vers_build` run that produced this commit, if any."},
		"image":                 imageDataSourceAttribute("Image metadata (`CMD`, `EXPOSE`, `LABEL`, …) recorded by `vers_build` on its final commit; null for other commits."),
	}
}
