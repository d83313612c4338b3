package vers

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"golang.org/x/sync/errgroup"
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

// commitPageFetchers bounds the pages ListAllCommits requests at once.
const commitPageFetchers = 8

// ListAllCommits pages through GET /commits until it has "total" commits.
// Once the first page shows the server's page size and the total, the
// other pages are requested concurrently: on a far link a large org's
// listing then costs about two round trips instead of one per page. It
// copes with a server that ignores paging (everything in one page) and
// stops when a page brings nothing new, so a server that ignores offset
// cannot make it loop forever.
func (c *Client) ListAllCommits(ctx context.Context) ([]CommitInfo, error) {
	var all []CommitInfo
	seen := map[string]bool{}
	add := func(page []CommitInfo) (added int) {
		for _, ci := range page {
			if !seen[ci.CommitID] {
				seen[ci.CommitID] = true
				all = append(all, ci)
				added++
			}
		}
		return added
	}
	first, err := c.ListCommits(ctx, commitPageSize, 0)
	if err != nil {
		return nil, err
	}
	if add(first.Commits) == 0 {
		return all, nil
	}
	offset := len(first.Commits)
	if pageLen := len(first.Commits); first.Total > int64(pageLen) {
		var offsets []int
		for o := pageLen; int64(o) < first.Total; o += pageLen {
			offsets = append(offsets, o)
		}
		pages := make([][]CommitInfo, len(offsets))
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(commitPageFetchers)
		for i, o := range offsets {
			g.Go(func() error {
				page, err := c.ListCommits(gctx, commitPageSize, o)
				if err != nil {
					return err
				}
				pages[i] = page.Commits
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
		for i, page := range pages {
			add(page)
			offset = offsets[i] + len(page)
		}
	}
	// Whatever is left (commits created meanwhile, a server without a
	// total), one page after another.
	for {
		switch {
		case first.Total > 0 && int64(len(all)) >= first.Total:
			return all, nil
		case first.Total == 0 && len(first.Commits) < commitPageSize:
			return all, nil
		}
		page, err := c.ListCommits(ctx, commitPageSize, offset)
		if err != nil {
			return nil, err
		}
		if add(page.Commits) == 0 {
			return all, nil
		}
		offset += len(page.Commits)
		first = page
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
