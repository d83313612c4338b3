package vers

import (
	"context"
	"net/http"
)

// CreateCommitTag creates a legacy org-level tag. A retry that meets a 409
// after a lost response is resolved as described in named_create.go.
func (c *Client) CreateCommitTag(ctx context.Context, req CreateTagRequest) (*CreateTagResponse, error) {
	var out CreateTagResponse
	err := c.doJSON(ctx, http.MethodPost, "/commit_tags", nil, req, &out)
	if err == nil {
		return &out, nil
	}
	if !lostResponseConflict(err) {
		return nil, err
	}
	existing, getErr := c.GetCommitTag(ctx, req.TagName)
	switch {
	case getErr != nil:
		return nil, &DuplicateCreateError{Kind: "commit tag", Name: req.TagName, Detail: "reading it back failed: " + getErr.Error(), Err: err}
	case existing.CommitID != req.CommitID:
		return nil, &DuplicateCreateError{Kind: "commit tag", Name: req.TagName,
			Detail: describeMismatch("commit_id", req.CommitID, existing.CommitID), Err: err}
	case !sameDescription(existing.Description, req.Description):
		return nil, &DuplicateCreateError{Kind: "commit tag", Name: req.TagName,
			Detail: describeMismatch("description", req.Description, deref(existing.Description)), Err: err}
	}
	c.noteRecognisedCreate(ctx, "commit tag", req.TagName)
	return &CreateTagResponse{TagID: existing.TagID, TagName: existing.TagName, CommitID: existing.CommitID}, nil
}

// GetCommitTag returns one legacy tag.
func (c *Client) GetCommitTag(ctx context.Context, name string) (*TagInfo, error) {
	var out TagInfo
	if err := c.doJSON(ctx, http.MethodGet, apiPath("/commit_tags/%s", name), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateCommitTag moves a legacy tag and/or changes its description.
func (c *Client) UpdateCommitTag(ctx context.Context, name string, req UpdateTagRequest) error {
	return c.doJSON(ctx, http.MethodPatch, apiPath("/commit_tags/%s", name), nil, req, nil)
}

// DeleteCommitTag deletes a legacy tag; the commit is untouched.
func (c *Client) DeleteCommitTag(ctx context.Context, name string) error {
	return c.doJSON(ctx, http.MethodDelete, apiPath("/commit_tags/%s", name), nil, nil, nil)
}
