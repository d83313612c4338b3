package vers

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// commitPageSize is the page ListAllCommits asks for.
const commitPageSize = 100

// ListCommits returns one page of the org's commits. limit <= 0 sends no
// paging parameters (the server's default page, possibly everything:
// whether the service honours limit/offset is unconfirmed).
func (c *Client) ListCommits(ctx context.Context, limit, offset int) (*ListCommitsResponse, error) {
	return c.listCommits(ctx, "/commits", limit, offset)
}

// ListPublicCommits returns one page of public commits.
func (c *Client) ListPublicCommits(ctx context.Context, limit, offset int) (*ListCommitsResponse, error) {
	return c.listCommits(ctx, "/commits/public", limit, offset)
}

func (c *Client) listCommits(ctx context.Context, path string, limit, offset int) (*ListCommitsResponse, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
		q.Set("offset", strconv.Itoa(offset))
	}
	var out ListCommitsResponse
	if err := c.doJSON(ctx, http.MethodGet, path, q, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListAllCommits pages through GET /commits until it has "total" commits.
// It copes with a server that ignores paging (everything in one page) and
// stops when a page brings nothing new, so a server that ignores offset
// cannot make it loop forever.
func (c *Client) ListAllCommits(ctx context.Context) ([]CommitInfo, error) {
	var all []CommitInfo
	seen := map[string]bool{}
	for offset := 0; ; {
		page, err := c.ListCommits(ctx, commitPageSize, offset)
		if err != nil {
			return nil, err
		}
		added := 0
		for _, ci := range page.Commits {
			if seen[ci.CommitID] {
				continue
			}
			seen[ci.CommitID] = true
			all = append(all, ci)
			added++
		}
		offset += len(page.Commits)
		switch {
		case added == 0:
			return all, nil
		case page.Total > 0 && int64(len(all)) >= page.Total:
			return all, nil
		case page.Total == 0 && len(page.Commits) < commitPageSize:
			return all, nil
		}
	}
}

// GetCommitParents returns a commit's ancestry chain.
func (c *Client) GetCommitParents(ctx context.Context, commitID string) ([]CommitEntity, error) {
	var out []CommitEntity
	err := c.doJSON(ctx, http.MethodGet, apiPath("/vm/commits/%s/parents", commitID), nil, nil, &out)
	return out, err
}

// UpdateCommit changes a commit's visibility, name or description.
func (c *Client) UpdateCommit(ctx context.Context, commitID string, req UpdateCommitRequest) (*CommitInfo, error) {
	var out CommitInfo
	if err := c.doJSON(ctx, http.MethodPatch, apiPath("/commits/%s", commitID), nil, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteCommit deletes a commit (409 while VMs still use it).
func (c *Client) DeleteCommit(ctx context.Context, commitID string) error {
	return c.doJSON(ctx, http.MethodDelete, apiPath("/commits/%s", commitID), nil, nil, nil)
}
