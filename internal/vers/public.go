package vers

import (
	"context"
	"net/http"
)

// ListPublicRepositories returns the public repositories of every org.
func (c *Client) ListPublicRepositories(ctx context.Context) ([]PublicRepositoryInfo, error) {
	var out ListPublicRepositoriesResponse
	if err := c.doJSON(ctx, http.MethodGet, "/public/repositories", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Repositories, nil
}

// GetPublicRepository returns one public repository.
func (c *Client) GetPublicRepository(ctx context.Context, org, repo string) (*PublicRepositoryInfo, error) {
	var out PublicRepositoryInfo
	if err := c.doJSON(ctx, http.MethodGet, apiPath("/public/repositories/%s/%s", org, repo), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListPublicRepoTags returns the tags of a public repository.
func (c *Client) ListPublicRepoTags(ctx context.Context, org, repo string) (*ListRepoTagsResponse, error) {
	var out ListRepoTagsResponse
	if err := c.doJSON(ctx, http.MethodGet, apiPath("/public/repositories/%s/%s/tags", org, repo), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetPublicRepoTag returns one tag of a public repository.
func (c *Client) GetPublicRepoTag(ctx context.Context, org, repo, tag string) (*RepoTagInfo, error) {
	var out RepoTagInfo
	if err := c.doJSON(ctx, http.MethodGet, apiPath("/public/repositories/%s/%s/tags/%s", org, repo, tag), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
