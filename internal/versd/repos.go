package versd

import (
	"context"
	"errors"
	"net/http"

	"github.com/google/uuid"

	"github.com/vers-sh/terraform-provider-vers/internal/ref"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
	"github.com/vers-sh/terraform-provider-vers/internal/versd/store"
)

func (s *Server) createRepo(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name        *string `json:"name"`
		Description *string `json:"description"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		return err
	}
	if req.Name == nil {
		return badRequest("name is required")
	}
	if err := checkName("repository name", *req.Name); err != nil {
		return err
	}
	if err := checkText("description", req.Description, maxDescriptionLen); err != nil {
		return err
	}
	repo := store.Repo{ID: uuid.NewString(), Name: *req.Name, Description: req.Description, CreatedAt: store.Now()}
	if err := s.db.CreateRepo(r.Context(), repo); errors.Is(err, store.ErrConflict) {
		return conflict("Repository %s already exists in organization", repo.Name)
	} else if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, vers.CreateRepositoryResponse{RepoID: repo.ID, Name: repo.Name})
	return nil
}

func repoInfo(r store.Repo) vers.RepositoryInfo {
	return vers.RepositoryInfo{RepoID: r.ID, Name: r.Name, IsPublic: r.IsPublic, CreatedAt: r.CreatedAt, Description: r.Description}
}

func (s *Server) listRepos(w http.ResponseWriter, r *http.Request) error {
	repos, err := s.db.ListRepos(r.Context(), false)
	if err != nil {
		return err
	}
	out := vers.ListRepositoriesResponse{Repositories: make([]vers.RepositoryInfo, 0, len(repos))}
	for _, repo := range repos {
		out.Repositories = append(out.Repositories, repoInfo(repo))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// getRepoRecord loads the caller's repository by name (400 / 404).
func (s *Server) getRepoRecord(ctx context.Context, name string) (store.Repo, error) {
	if err := checkName("repository name", name); err != nil {
		return store.Repo{}, err
	}
	repo, err := s.db.GetRepo(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return repo, notFound("Repository not found: %s", name)
	}
	return repo, err
}

func (s *Server) getRepo(w http.ResponseWriter, r *http.Request) error {
	repo, err := s.getRepoRecord(r.Context(), r.PathValue("repo"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, repoInfo(repo))
	return nil
}

func (s *Server) deleteRepo(w http.ResponseWriter, r *http.Request) error {
	repo, err := s.getRepoRecord(r.Context(), r.PathValue("repo"))
	if err != nil {
		return err
	}
	if err := s.db.DeleteRepo(r.Context(), repo.Name); errors.Is(err, store.ErrNotFound) {
		return notFound("Repository not found: %s", repo.Name)
	} else if err != nil {
		return err
	}
	writeNoContent(w)
	return nil
}

func (s *Server) setRepoVisibility(w http.ResponseWriter, r *http.Request) error {
	repo, err := s.getRepoRecord(r.Context(), r.PathValue("repo"))
	if err != nil {
		return err
	}
	var req struct {
		IsPublic *bool `json:"is_public"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		return err
	}
	if req.IsPublic == nil {
		return badRequest("is_public is required")
	}
	if err := s.db.SetRepoVisibility(r.Context(), repo.Name, *req.IsPublic); err != nil {
		return err
	}
	writeNoContent(w)
	return nil
}

func repoTagInfo(repo string, t store.Tag) vers.RepoTagInfo {
	return vers.RepoTagInfo{TagID: t.ID, TagName: t.Name, CommitID: t.CommitID, Reference: repo + ":" + t.Name,
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, Description: t.Description}
}

func (s *Server) createRepoTag(w http.ResponseWriter, r *http.Request) error {
	repo, err := s.getRepoRecord(r.Context(), r.PathValue("repo"))
	if err != nil {
		return err
	}
	t, err := s.decodeTagCreate(r)
	if err != nil {
		return err
	}
	t.RepoID = repo.ID
	if err := s.db.CreateTag(r.Context(), t); err != nil {
		return createTagErr(err, "repository "+repo.Name)
	}
	writeJSON(w, http.StatusCreated, vers.CreateRepoTagResponse{TagID: t.ID, CommitID: t.CommitID, Reference: repo.Name + ":" + t.Name})
	return nil
}

func (s *Server) writeRepoTags(w http.ResponseWriter, r *http.Request, repo store.Repo) error {
	tags, err := s.db.ListTags(r.Context(), repo.ID)
	if err != nil {
		return err
	}
	out := vers.ListRepoTagsResponse{Repository: repo.Name, Tags: make([]vers.RepoTagInfo, 0, len(tags))}
	for _, t := range tags {
		out.Tags = append(out.Tags, repoTagInfo(repo.Name, t))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) listRepoTags(w http.ResponseWriter, r *http.Request) error {
	repo, err := s.getRepoRecord(r.Context(), r.PathValue("repo"))
	if err != nil {
		return err
	}
	return s.writeRepoTags(w, r, repo)
}

func (s *Server) getRepoTagRecord(ctx context.Context, repo store.Repo, name string) (store.Tag, error) {
	if err := checkName("tag name", name); err != nil {
		return store.Tag{}, err
	}
	t, err := s.db.GetTag(ctx, repo.ID, name)
	if errors.Is(err, store.ErrNotFound) {
		return t, notFound("Tag not found: %s:%s", repo.Name, name)
	}
	return t, err
}

func (s *Server) getRepoTag(w http.ResponseWriter, r *http.Request) error {
	repo, err := s.getRepoRecord(r.Context(), r.PathValue("repo"))
	if err != nil {
		return err
	}
	t, err := s.getRepoTagRecord(r.Context(), repo, r.PathValue("tag"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, repoTagInfo(repo.Name, t))
	return nil
}

func (s *Server) updateRepoTag(w http.ResponseWriter, r *http.Request) error {
	repo, err := s.getRepoRecord(r.Context(), r.PathValue("repo"))
	if err != nil {
		return err
	}
	t, err := s.getRepoTagRecord(r.Context(), repo, r.PathValue("tag"))
	if err != nil {
		return err
	}
	u, err := decodeTagUpdate(r)
	if err != nil {
		return err
	}
	if err := s.db.UpdateTag(r.Context(), repo.ID, t.Name, u, store.Now()); err != nil {
		return updateTagErr(err)
	}
	writeNoContent(w)
	return nil
}

func (s *Server) deleteRepoTag(w http.ResponseWriter, r *http.Request) error {
	repo, err := s.getRepoRecord(r.Context(), r.PathValue("repo"))
	if err != nil {
		return err
	}
	t, err := s.getRepoTagRecord(r.Context(), repo, r.PathValue("tag"))
	if err != nil {
		return err
	}
	if err := s.db.DeleteTag(r.Context(), repo.ID, t.Name); err != nil {
		return updateTagErr(err)
	}
	writeNoContent(w)
	return nil
}

// forkRepo follows the documented flow: boot a VM from the source tag's
// commit, commit it again, then create (or reuse) the target repository and
// tag. The new VM is left running and belongs to the caller (vers-api.md
// §2.4). A source in this server's own org needs no public flag; another
// org does not exist here.
func (s *Server) forkRepo(w http.ResponseWriter, r *http.Request) error {
	var req vers.ForkRepositoryRequest
	if err := decodeJSON(r, &req, false); err != nil {
		return err
	}
	for _, f := range []struct{ kind, v string }{{"source_org", req.SourceOrg}, {"source_repo", req.SourceRepo}, {"source_tag", req.SourceTag}} {
		if err := checkName(f.kind, f.v); err != nil {
			return err
		}
	}
	req.RepoName = defaultString(req.RepoName, req.SourceRepo)
	req.TagName = defaultString(req.TagName, req.SourceTag)
	if err := checkName("repo_name", req.RepoName); err != nil {
		return err
	}
	if err := checkName("tag_name", req.TagName); err != nil {
		return err
	}
	ctx := r.Context()
	src, err := s.resolveRepoTag(ctx, ref.Ref{Org: req.SourceOrg, Repo: req.SourceRepo, Tag: req.SourceTag})
	if err != nil {
		return err
	}
	target, err := s.db.GetRepo(ctx, req.RepoName)
	if err == nil {
		if _, err := s.db.GetTag(ctx, target.ID, req.TagName); err == nil {
			return conflict("Tag name already exists in repository %s", req.RepoName)
		}
	}
	srcCommit, err := s.resolveCommit(ctx, src.CommitID, "", "")
	if err != nil {
		return err
	}
	vmID, err := s.createVM(ctx, vmSpec{layers: srcCommit.Layers, parentCommitID: &srcCommit.ID, config: srcCommit.Config})
	if err != nil {
		return err
	}
	name := "fork-of-" + req.SourceOrg + "-" + req.SourceRepo + "-" + req.SourceTag
	c, err := s.commit(ctx, vmID, "", &name, nil, false)
	if err != nil {
		return err
	}
	target, err = s.db.EnsureRepo(ctx, store.Repo{ID: uuid.NewString(), Name: req.RepoName, CreatedAt: store.Now()})
	if err != nil {
		return err
	}
	now := store.Now()
	tag := store.Tag{ID: uuid.NewString(), RepoID: target.ID, Name: req.TagName, CommitID: c.ID, CreatedAt: now, UpdatedAt: now}
	if err := s.db.CreateTag(ctx, tag); err != nil {
		return createTagErr(err, "repository "+target.Name)
	}
	writeJSON(w, http.StatusCreated, vers.ForkRepositoryResponse{VMID: vmID, CommitID: c.ID, RepoName: target.Name,
		TagName: tag.Name, Reference: target.Name + ":" + tag.Name})
	return nil
}

// Public repositories: only this server's organisation exists.

func (s *Server) publicRepoInfo(r store.Repo) vers.PublicRepositoryInfo {
	return vers.PublicRepositoryInfo{RepoID: r.ID, Name: r.Name, OrgName: s.opts.OrgName,
		FullName: s.opts.OrgName + "/" + r.Name, CreatedAt: r.CreatedAt, Description: r.Description}
}

func (s *Server) listPublicRepos(w http.ResponseWriter, r *http.Request) error {
	repos, err := s.db.ListRepos(r.Context(), true)
	if err != nil {
		return err
	}
	out := vers.ListPublicRepositoriesResponse{Repositories: make([]vers.PublicRepositoryInfo, 0, len(repos))}
	for _, repo := range repos {
		out.Repositories = append(out.Repositories, s.publicRepoInfo(repo))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getPublicRepoRecord(ctx context.Context, org, name string) (store.Repo, error) {
	if err := checkName("organisation", org); err != nil {
		return store.Repo{}, err
	}
	repo, err := s.getRepoRecord(ctx, name)
	if err != nil {
		return repo, err
	}
	if org != s.opts.OrgName || !repo.IsPublic {
		return store.Repo{}, notFound("Repository not found: %s/%s", org, name)
	}
	return repo, nil
}

func (s *Server) getPublicRepo(w http.ResponseWriter, r *http.Request) error {
	repo, err := s.getPublicRepoRecord(r.Context(), r.PathValue("org"), r.PathValue("repo"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.publicRepoInfo(repo))
	return nil
}

func (s *Server) listPublicRepoTags(w http.ResponseWriter, r *http.Request) error {
	repo, err := s.getPublicRepoRecord(r.Context(), r.PathValue("org"), r.PathValue("repo"))
	if err != nil {
		return err
	}
	return s.writeRepoTags(w, r, repo)
}

func (s *Server) getPublicRepoTag(w http.ResponseWriter, r *http.Request) error {
	repo, err := s.getPublicRepoRecord(r.Context(), r.PathValue("org"), r.PathValue("repo"))
	if err != nil {
		return err
	}
	t, err := s.getRepoTagRecord(r.Context(), repo, r.PathValue("tag"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, repoTagInfo(repo.Name, t))
	return nil
}
