package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vers-sh/terraform-provider-vers/internal/ref"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// NewTagResource is vers_tag: a tag in a repository (/repositories/{repo}/tags).
func NewTagResource() resource.Resource {
	own := map[string]schema.Attribute{
		"id":        computedKept("`repo:tag`."),
		"repo":      tagNameAttribute("Repository name."),
		"name":      tagNameAttribute("Tag name, unique in the repository (e.g. `latest`, `v1.2`, `build-2026-04-20`)."),
		"reference": computedKept("`repo:tag`, the form `vers_vm.ref` and `FROM` lines accept."),
	}
	return &tagResource{typeSuffix: "_tag", noun: "tag", kind: repoTags{}, schema: tagResourceSchema(repoTagDescription, own)}
}

const repoTagDescription = "A movable tag in a Vers repository (`repo:tag`) pointing at a commit.\n\n" +
	"Changing `commit_id` or `description` updates the tag **in place**, so promotion and rollback are one " +
	"`terraform apply` and the tag never disappears in between. If someone moves the tag outside Terraform, " +
	"the next plan shows an in-place update back to the configured commit."

type tagModel struct {
	tagFields
	Repo      types.String `tfsdk:"repo"`
	Reference types.String `tfsdk:"reference"`
}

func (m *tagModel) address() string { return m.Repo.ValueString() + ":" + m.Name.ValueString() }

func (m *tagModel) setID() {
	m.ID = types.StringValue(m.address())
	m.Reference = m.ID
}

// repoTags is the tagKind of vers_tag.
type repoTags struct{}

func (repoTags) newModel() tagState { return &tagModel{} }

func (repoTags) create(ctx context.Context, c *vers.Client, s tagState) error {
	m := s.(*tagModel)
	_, err := c.CreateRepoTag(ctx, m.Repo.ValueString(), vers.CreateRepoTagRequest{
		TagName: m.Name.ValueString(), CommitID: m.CommitID.ValueString(), Description: m.Description.ValueString(),
	})
	return err
}

func (repoTags) get(ctx context.Context, c *vers.Client, s tagState) (*vers.TagInfo, error) {
	m := s.(*tagModel)
	t, err := c.GetRepoTag(ctx, m.Repo.ValueString(), m.Name.ValueString())
	if err != nil {
		return nil, err
	}
	return &vers.TagInfo{TagID: t.TagID, TagName: t.TagName, CommitID: t.CommitID, CreatedAt: t.CreatedAt,
		UpdatedAt: t.UpdatedAt, Description: t.Description}, nil
}

func (repoTags) update(ctx context.Context, c *vers.Client, s tagState, u vers.UpdateTagRequest) error {
	m := s.(*tagModel)
	return c.UpdateRepoTag(ctx, m.Repo.ValueString(), m.Name.ValueString(), u)
}

func (repoTags) delete(ctx context.Context, c *vers.Client, s tagState) error {
	m := s.(*tagModel)
	return c.DeleteRepoTag(ctx, m.Repo.ValueString(), m.Name.ValueString())
}

func (repoTags) missingAdvice(s tagState) string {
	m := s.(*tagModel)
	return fmt.Sprintf("Check that repository %q and commit %s exist.", m.Repo.ValueString(), m.CommitID.ValueString())
}

func (repoTags) parseImportID(id string) (map[string]string, error) {
	parsed, err := ref.ParseLocal(id)
	if err != nil {
		return nil, fmt.Errorf("%w\n\nImport a tag as repo:tag, e.g. terraform import vers_tag.latest my-app:latest", err)
	}
	return map[string]string{"repo": parsed.Repo, "name": parsed.Tag}, nil
}
