package vers

import (
	"context"
	"net/http"
)

// CreateRepository creates a repository. A retry that meets a 409 after a
// lost response is resolved as described in named_create.go.
func (c *Client) CreateRepository(ctx context.Context, req CreateRepositoryRequest) (*CreateRepositoryResponse, error) {
	var out CreateRepositoryResponse
	err := c.doJSON(ctx, http.MethodPost, "/repositories", nil, req, &out)
	if err == nil {
		if out.Name == "" {
			out.Name = req.Name
		}
		return &out, nil
	}
	if !lostResponseConflict(err) {
		return nil, err
	}
	existing, getErr := c.GetRepository(ctx, req.Name)
	if getErr != nil {
		return nil, &DuplicateCreateError{Kind: "repository", Name: req.Name, Detail: "reading it back failed: " + getErr.Error(), Err: err}
	}
	if !sameDescription(existing.Description, req.Description) {
		return nil, &DuplicateCreateError{Kind: "repository", Name: req.Name,
			Detail: describeMismatch("description", req.Description, deref(existing.Description)), Err: err}
	}
	c.noteRecognisedCreate(ctx, "repository", req.Name)
	return &CreateRepositoryResponse{RepoID: existing.RepoID, Name: existing.Name}, nil
}

// ListRepositories returns the org's repositories.
func (c *Client) ListRepositories(ctx context.Context) ([]RepositoryInfo, error) {
	var out ListRepositoriesResponse
	if err := c.doJSON(ctx, http.MethodGet, "/repositories", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Repositories, nil
}

// GetRepository returns one repository by name.
func (c *Client) GetRepository(ctx context.Context, name string) (*RepositoryInfo, error) {
	var out RepositoryInfo
	if err := c.doJSON(ctx, http.MethodGet, apiPath("/repositories/%s", name), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteRepository deletes a repository and all its tags (not the commits).
func (c *Client) DeleteRepository(ctx context.Context, name string) error {
	return c.doJSON(ctx, http.MethodDelete, apiPath("/repositories/%s", name), nil, nil, nil)
}

// SetRepositoryVisibility makes a repository public or private.
func (c *Client) SetRepositoryVisibility(ctx context.Context, name string, public bool) error {
	return c.doJSON(ctx, http.MethodPatch, apiPath("/repositories/%s/visibility", name), nil, VisibilityRequest{IsPublic: public}, nil)
}

// ForkRepository copies a public repo tag into the caller's org. The server
// boots a VM to do so and leaves it running: the response names it, and
// the caller decides whether to delete it.
func (c *Client) ForkRepository(ctx context.Context, req ForkRepositoryRequest) (*ForkRepositoryResponse, error) {
	var out ForkRepositoryResponse
	if err := c.doJSON(ctx, http.MethodPost, "/repositories/fork", nil, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateRepoTag points a new tag of repo at a commit. A retry that meets a
// 409 after a lost response is resolved as described in named_create.go.
func (c *Client) CreateRepoTag(ctx context.Context, repo string, req CreateRepoTagRequest) (*CreateRepoTagResponse, error) {
	var out CreateRepoTagResponse
	err := c.doJSON(ctx, http.MethodPost, apiPath("/repositories/%s/tags", repo), nil, req, &out)
	if err == nil {
		if out.Reference == "" {
			out.Reference = repo + ":" + req.TagName
		}
		return &out, nil
	}
	if !lostResponseConflict(err) {
		return nil, err
	}
	name := repo + ":" + req.TagName
	existing, getErr := c.GetRepoTag(ctx, repo, req.TagName)
	switch {
	case getErr != nil:
		return nil, &DuplicateCreateError{Kind: "repository tag", Name: name, Detail: "reading it back failed: " + getErr.Error(), Err: err}
	case existing.CommitID != req.CommitID:
		return nil, &DuplicateCreateError{Kind: "repository tag", Name: name,
			Detail: describeMismatch("commit_id", req.CommitID, existing.CommitID), Err: err}
	case !sameDescription(existing.Description, req.Description):
		return nil, &DuplicateCreateError{Kind: "repository tag", Name: name,
			Detail: describeMismatch("description", req.Description, deref(existing.Description)), Err: err}
	}
	c.noteRecognisedCreate(ctx, "repository tag", name)
	ref := existing.Reference
	if ref == "" {
		ref = name
	}
	return &CreateRepoTagResponse{TagID: existing.TagID, CommitID: existing.CommitID, Reference: ref}, nil
}

// ListRepoTags returns every tag of a repository.
func (c *Client) ListRepoTags(ctx context.Context, repo string) (*ListRepoTagsResponse, error) {
	var out ListRepoTagsResponse
	if err := c.doJSON(ctx, http.MethodGet, apiPath("/repositories/%s/tags", repo), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetRepoTag returns one tag of a repository.
func (c *Client) GetRepoTag(ctx context.Context, repo, tag string) (*RepoTagInfo, error) {
	var out RepoTagInfo
	if err := c.doJSON(ctx, http.MethodGet, apiPath("/repositories/%s/tags/%s", repo, tag), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateRepoTag moves a tag and/or changes its description in place.
func (c *Client) UpdateRepoTag(ctx context.Context, repo, tag string, req UpdateTagRequest) error {
	return c.doJSON(ctx, http.MethodPatch, apiPath("/repositories/%s/tags/%s", repo, tag), nil, req, nil)
}

// DeleteRepoTag deletes a tag; the commit is untouched.
func (c *Client) DeleteRepoTag(ctx context.Context, repo, tag string) error {
	return c.doJSON(ctx, http.MethodDelete, apiPath("/repositories/%s/tags/%s", repo, tag), nil, nil, nil)
}
