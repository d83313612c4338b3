package build

import (
	"context"
	"fmt"

	"github.com/vers-sh/terraform-provider-vers/internal/dockerfile"
	"github.com/vers-sh/terraform-provider-vers/internal/ref"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// resolveBase turns the FROM line into a commit id ("" for scratch). The
// resolution happens once per build, so a tag that moves mid-build cannot
// mix two bases.
func (ex *executor) resolveBase(ctx context.Context) (string, error) {
	from := ex.prep.Dockerfile.From
	where := fmt.Sprintf("%s:%d", ex.prep.DockerfileName, from.Line)
	switch from.Kind {
	case dockerfile.FromScratch:
		return "", nil
	case dockerfile.FromCommit:
		return from.Ref, nil
	case dockerfile.FromRef:
		tag, err := ex.api.GetRepoTag(ctx, from.Repo, from.Tag)
		if err != nil {
			return "", fmt.Errorf("%s: FROM %s: %w (create the tag first, e.g. with vers_tag, or FROM a commit id)", where, from.Ref, err)
		}
		return tag.CommitID, nil
	case dockerfile.FromPublicRef:
		tag, err := ex.api.GetPublicRepoTag(ctx, from.Org, from.Repo, from.Tag)
		if err != nil {
			return "", fmt.Errorf("%s: FROM %s: %w (is the repository public? fork it with vers_repo_fork otherwise)", where, from.Ref, err)
		}
		return tag.CommitID, nil
	case dockerfile.FromTag:
		tag, err := ex.api.GetCommitTag(ctx, from.Tag)
		if err == nil {
			return tag.CommitID, nil
		}
		// Like the Vers CLI: a name that is not a legacy tag may be a commit id.
		if vers.IsNotFound(err) && ref.IsCommitID(from.Tag) {
			return from.Tag, nil
		}
		return "", fmt.Errorf("%s: FROM %s: no legacy tag of that name: %w (use repo:tag or a commit id)", where, from.Ref, err)
	}
	return "", fmt.Errorf("%s: FROM %s: unsupported base", where, from.Ref)
}
