package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"

	"github.com/vers-sh/terraform-provider-vers/internal/ref"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// NewCommitTagResource is vers_commit_tag: a legacy org-level tag
// (/commit_tags), one flat namespace per organization, the names `FROM
// <name>` lines resolve first.
func NewCommitTagResource() resource.Resource {
	return &tagResource{typeSuffix: "_commit_tag", noun: "commit tag", kind: commitTags{},
		schema: tagResourceSchema(commitTagDescription, map[string]schema.Attribute{
			"id":   computedKept("The tag name (same as `name`)."),
			"name": tagNameAttribute("Tag name, unique in the organization: 1–64 letters, digits, `.`, `_` or `-`."),
		})}
}

const commitTagDescription = "A legacy organization-level commit tag (one flat namespace per organization, e.g. `production`).\n\n" +
	"Prefer `vers_tag`: repository tags are scoped to a repository, can be published and forked, and are " +
	"where the Vers API is heading. Use this resource for names that existing tooling already resolves, such as " +
	"`FROM production` in a Dockerfile or `vers build -t`.\n\n" +
	"Changing `commit_id` or `description` updates the tag **in place**, so the name never stops resolving. " +
	"If someone moves or deletes the tag outside Terraform, the next plan puts it back."

type commitTagModel struct{ tagFields }

func (m *commitTagModel) address() string { return m.Name.ValueString() }
func (m *commitTagModel) setID()          { m.ID = m.Name }

// commitTags is the tagKind of vers_commit_tag.
type commitTags struct{}

func (commitTags) newModel() tagState { return &commitTagModel{} }

func (commitTags) create(ctx context.Context, c *vers.Client, m tagState) error {
	f := m.fields()
	_, err := c.CreateCommitTag(ctx, vers.CreateTagRequest{
		TagName: f.Name.ValueString(), CommitID: f.CommitID.ValueString(), Description: f.Description.ValueString(),
	})
	return err
}

func (commitTags) get(ctx context.Context, c *vers.Client, m tagState) (*vers.TagInfo, error) {
	return c.GetCommitTag(ctx, m.fields().Name.ValueString())
}

func (commitTags) update(ctx context.Context, c *vers.Client, m tagState, u vers.UpdateTagRequest) error {
	return c.UpdateCommitTag(ctx, m.fields().Name.ValueString(), u)
}

func (commitTags) delete(ctx context.Context, c *vers.Client, m tagState) error {
	return c.DeleteCommitTag(ctx, m.fields().Name.ValueString())
}

func (commitTags) missingAdvice(m tagState) string {
	return fmt.Sprintf("Check that commit %s exists: data \"vers_commit\" can look it up.", m.fields().CommitID.ValueString())
}

func (commitTags) parseImportID(id string) (map[string]string, error) {
	if !ref.ValidName(id) {
		return nil, fmt.Errorf("%q is not a commit tag name (1–64 letters, digits, '.', '_' or '-').\n\n"+
			"Import a commit tag by its name, e.g. terraform import vers_commit_tag.production production. "+
			"A repo:tag reference is a repository tag: import it as vers_tag instead.", id)
	}
	return map[string]string{"name": id}, nil
}
