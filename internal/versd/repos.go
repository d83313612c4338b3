package versd

import (
	"context"
	"errors"
	"net/http"
	"sort"

	"github.com/google/uuid"

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
	repo := store.Repo{ID: uuid.NewString(), Org: callerOrg(r.Context()).id, Name: *req.Name, Description: req.Description, CreatedAt: store.Now()}
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
	repos, err := s.db.ListRepos(r.Context(), callerOrg(r.Context()).id)
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
	repo, err := s.db.GetRepo(ctx, callerOrg(ctx).id, name)
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
	if err := s.db.DeleteRepo(r.Context(), repo.Org, repo.Name); errors.Is(err, store.ErrNotFound) {
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
	if err := s.db.SetRepoVisibility(r.Context(), repo.Org, repo.Name, *req.IsPublic); err != nil {
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
	t.Org, t.RepoID = repo.Org, repo.ID
	if err := s.db.CreateTag(r.Context(), t); err != nil {
		return createTagErr(err, "repository "+repo.Name)
	}
	writeJSON(w, http.StatusCreated, vers.CreateRepoTagResponse{TagID: t.ID, CommitID: t.CommitID, Reference: repo.Name + ":" + t.Name})
	return nil
}

func (s *Server) writeRepoTags(w http.ResponseWriter, r *http.Request, repo store.Repo) error {
	tags, err := s.db.ListTags(r.Context(), repo.Org, repo.ID)
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
	t, err := s.db.GetTag(ctx, repo.Org, repo.ID, name)
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
	if err := s.db.UpdateTag(r.Context(), repo.Org, repo.ID, t.Name, u, store.Now()); err != nil {
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
	if err := s.db.DeleteTag(r.Context(), repo.Org, repo.ID, t.Name); err != nil {
		return updateTagErr(err)
	}
	writeNoContent(w)
	return nil
}

// forkRepo follows the documented flow: boot a VM from the source tag's
// commit, commit it again, then create (or reuse) the target repository and
// tag, all in the caller's organisation. The new VM is left running and
// belongs to the caller (vers-api.md §2.4). The source may be any of the
// caller's own repositories, or another organisation's public one; only
// the repository's visibility counts, not the commit's is_public.
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
	caller := callerOrg(ctx)
	srcRepo, err := s.visibleRepo(ctx, req.SourceOrg, req.SourceRepo, false)
	if err != nil {
		return err
	}
	src, err := s.getRepoTagRecord(ctx, srcRepo, req.SourceTag)
	if err != nil {
		return err
	}
	if target, err := s.db.GetRepo(ctx, caller.id, req.RepoName); err == nil {
		if _, err := s.db.GetTag(ctx, caller.id, target.ID, req.TagName); err == nil {
			return conflict("Tag name already exists in repository %s", req.RepoName)
		}
	}
	srcCommit, err := s.db.GetCommit(ctx, src.CommitID)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("Commit not found")
	} else if err != nil {
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
	target, err := s.db.EnsureRepo(ctx, store.Repo{ID: uuid.NewString(), Org: caller.id, Name: req.RepoName, CreatedAt: store.Now()})
	if err != nil {
		return err
	}
	now := store.Now()
	tag := store.Tag{ID: uuid.NewString(), Org: caller.id, RepoID: target.ID, Name: req.TagName, CommitID: c.ID, CreatedAt: now, UpdatedAt: now}
	if err := s.db.CreateTag(ctx, tag); err != nil {
		return createTagErr(err, "repository "+target.Name)
	}
	writeJSON(w, http.StatusCreated, vers.ForkRepositoryResponse{VMID: vmID, CommitID: c.ID, RepoName: target.Name,
		TagName: tag.Name, Reference: target.Name + ":" + tag.Name})
	return nil
}

// visibleRepo finds orgName/name as the caller may see it: any of its own
// repositories (unless publicOnly), another organisation's only when public.
// Everything else, an unknown organisation included, is the same 404.
func (s *Server) visibleRepo(ctx context.Context, orgName, name string, publicOnly bool) (store.Repo, error) {
	if err := checkName("organisation", orgName); err != nil {
		return store.Repo{}, err
	}
	if err := checkName("repository name", name); err != nil {
		return store.Repo{}, err
	}
	missing := notFound("Repository not found: %s/%s", orgName, name)
	o := s.orgsByName[orgName]
	if o == nil {
		return store.Repo{}, missing
	}
	repo, err := s.db.GetRepo(ctx, o.id, name)
	if errors.Is(err, store.ErrNotFound) {
		return store.Repo{}, missing
	} else if err != nil {
		return store.Repo{}, err
	}
	if !repo.IsPublic && (publicOnly || o != callerOrg(ctx)) {
		return store.Repo{}, missing
	}
	return repo, nil
}

// Public repositories, of every organisation.

func (s *Server) publicRepoInfo(r store.Repo) vers.PublicRepositoryInfo {
	org := s.orgName(r.Org)
	return vers.PublicRepositoryInfo{RepoID: r.ID, Name: r.Name, OrgName: org,
		FullName: org + "/" + r.Name, CreatedAt: r.CreatedAt, Description: r.Description}
}

func (s *Server) listPublicRepos(w http.ResponseWriter, r *http.Request) error {
	repos, err := s.db.ListPublicRepos(r.Context())
	if err != nil {
		return err
	}
	out := vers.ListPublicRepositoriesResponse{Repositories: make([]vers.PublicRepositoryInfo, 0, len(repos))}
	for _, repo := range repos {
		out.Repositories = append(out.Repositories, s.publicRepoInfo(repo))
	}
	sort.Slice(out.Repositories, func(i, j int) bool { return out.Repositories[i].FullName < out.Repositories[j].FullName })
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getPublicRepoRecord(ctx context.Context, org, name string) (store.Repo, error) {
	return s.visibleRepo(ctx, org, name, true)
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
