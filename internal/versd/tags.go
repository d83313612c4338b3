package versd

import (
	"context"
	"errors"
	"net/http"

	"github.com/google/uuid"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
	"github.com/vers-sh/terraform-provider-vers/internal/versd/store"
)

// tagCreate is the shared body of POST /commit_tags and POST
// /repositories/{repo}/tags. Pointers tell "absent" from "wrong".
type tagCreate struct {
	TagName     *string `json:"tag_name"`
	CommitID    *string `json:"commit_id"`
	Description *string `json:"description"`
}

func (s *Server) decodeTagCreate(r *http.Request) (store.Tag, error) {
	var req tagCreate
	if err := decodeJSON(r, &req, false); err != nil {
		return store.Tag{}, err
	}
	if req.TagName == nil {
		return store.Tag{}, badRequest("tag_name is required")
	}
	if err := checkName("tag name", *req.TagName); err != nil {
		return store.Tag{}, err
	}
	if req.CommitID == nil {
		return store.Tag{}, badRequest("commit_id is required")
	}
	if err := checkID("commit_id", *req.CommitID); err != nil {
		return store.Tag{}, err
	}
	if err := checkText("description", req.Description, maxDescriptionLen); err != nil {
		return store.Tag{}, err
	}
	now := store.Now()
	return store.Tag{ID: uuid.NewString(), Name: *req.TagName, CommitID: *req.CommitID,
		Description: req.Description, CreatedAt: now, UpdatedAt: now}, nil
}

// createTagErr maps store errors of a tag create.
func createTagErr(err error, scope string) error {
	switch {
	case errors.Is(err, store.ErrConflict):
		return conflict("Tag name already exists in %s", scope)
	case errors.Is(err, store.ErrCommitNotFound):
		return notFound("Commit not found")
	}
	return err
}

// decodeTagUpdate reads the three-state PATCH body (vers.UpdateTagRequest).
func decodeTagUpdate(r *http.Request) (store.TagUpdate, error) {
	var req vers.UpdateTagRequest
	if err := decodeJSON(r, &req, false); err != nil {
		return store.TagUpdate{}, err
	}
	var u store.TagUpdate
	if req.CommitID != "" {
		if err := checkID("commit_id", req.CommitID); err != nil {
			return u, err
		}
		u.CommitID = &req.CommitID
	}
	if req.ClearDescription || req.Description != nil {
		if err := checkText("description", req.Description, maxDescriptionLen); err != nil {
			return u, err
		}
		u.SetDescription, u.Description = true, req.Description
	}
	return u, nil
}

func updateTagErr(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound("Tag not found")
	case errors.Is(err, store.ErrCommitNotFound):
		return notFound("Commit not found")
	}
	return err
}

func tagInfo(t store.Tag) vers.TagInfo {
	return vers.TagInfo{TagID: t.ID, TagName: t.Name, CommitID: t.CommitID, CreatedAt: t.CreatedAt,
		UpdatedAt: t.UpdatedAt, Description: t.Description}
}

func (s *Server) createCommitTag(w http.ResponseWriter, r *http.Request) error {
	t, err := s.decodeTagCreate(r)
	if err != nil {
		return err
	}
	t.Org = callerOrg(r.Context()).id
	if err := s.db.CreateTag(r.Context(), t); err != nil {
		return createTagErr(err, "organization")
	}
	writeJSON(w, http.StatusCreated, vers.CreateTagResponse{TagID: t.ID, TagName: t.Name, CommitID: t.CommitID})
	return nil
}

func (s *Server) listCommitTags(w http.ResponseWriter, r *http.Request) error {
	tags, err := s.db.ListTags(r.Context(), callerOrg(r.Context()).id, "")
	if err != nil {
		return err
	}
	out := vers.ListTagsResponse{Tags: make([]vers.TagInfo, 0, len(tags))}
	for _, t := range tags {
		out.Tags = append(out.Tags, tagInfo(t))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getCommitTagRecord(ctx context.Context, name string) (store.Tag, error) {
	if err := checkName("tag name", name); err != nil {
		return store.Tag{}, err
	}
	t, err := s.db.GetTag(ctx, callerOrg(ctx).id, "", name)
	if errors.Is(err, store.ErrNotFound) {
		return t, notFound("Tag not found")
	}
	return t, err
}

func (s *Server) getCommitTag(w http.ResponseWriter, r *http.Request) error {
	t, err := s.getCommitTagRecord(r.Context(), r.PathValue("tag"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tagInfo(t))
	return nil
}

func (s *Server) updateCommitTag(w http.ResponseWriter, r *http.Request) error {
	t, err := s.getCommitTagRecord(r.Context(), r.PathValue("tag"))
	if err != nil {
		return err
	}
	u, err := decodeTagUpdate(r)
	if err != nil {
		return err
	}
	if err := s.db.UpdateTag(r.Context(), t.Org, "", t.Name, u, store.Now()); err != nil {
		return updateTagErr(err)
	}
	writeNoContent(w)
	return nil
}

func (s *Server) deleteCommitTag(w http.ResponseWriter, r *http.Request) error {
	t, err := s.getCommitTagRecord(r.Context(), r.PathValue("tag"))
	if err != nil {
		return err
	}
	if err := s.db.DeleteTag(r.Context(), t.Org, "", t.Name); err != nil {
		return updateTagErr(err)
	}
	writeNoContent(w)
	return nil
}
