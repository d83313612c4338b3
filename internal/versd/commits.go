package versd

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
	"github.com/vers-sh/terraform-provider-vers/internal/versd/store"
)

// Commit list paging: the CLI mock shows limit 50; larger pages are capped.
const (
	defaultCommitPage = 50
	maxCommitPage     = 1000
	maxNameLen        = 1024
	maxDescriptionLen = 64 << 10
)

// commit snapshots a VM into a new commit. commitID may be client-supplied.
func (s *Server) commit(ctx context.Context, vmID, commitID string, name, description *string, keepPaused bool) (store.Commit, error) {
	ctx = context.WithoutCancel(ctx) // a half-done commit must still be recorded
	unlock := s.vmLocks.lock(vmID)
	defer unlock()
	vm, err := s.db.GetVM(ctx, vmID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Commit{}, notFound("VM not found")
	} else if err != nil {
		return store.Commit{}, err
	}
	// Callers checked the VM is the caller's; the commit is the VM's org's.
	if commitID == "" {
		var derived bool
		commitID, derived = newObjectID(ctx, "commit")
		if derived {
			// An earlier attempt of this request made it before a crash. The
			// id is secret-keyed, but check the source anyway: another VM's
			// commit is never this request's answer.
			if c, err := s.db.GetCommit(ctx, commitID); err == nil {
				if c.ParentVMID == nil || *c.ParentVMID != vm.ID {
					return store.Commit{}, conflict("commit %s already exists and is not a snapshot of VM %s", commitID, vm.ID)
				}
				return c, nil
			}
		}
	} else if _, err := s.db.GetCommit(ctx, commitID); err == nil {
		return store.Commit{}, conflict("commit %s already exists", commitID)
	}
	if name == nil {
		n := "commit-" + commitID[:8]
		name = &n
	}
	s.layerMu.RLock()
	defer s.layerMu.RUnlock()
	// The VM restarts on a new root; sessions on the old one must end.
	s.gateway.DisconnectVM(vm.ID)
	// Two-phase: the intent names the new layer and holds the commit record
	// before the writable layer moves, so start-up recovery can finish the
	// commit (or give the VM its data back) instead of collecting the layer.
	layerID, err := s.vms.NewLayerID()
	if err != nil {
		return store.Commit{}, err
	}
	c := store.Commit{
		ID: commitID, Org: vm.Org, Name: *name, CreatedAt: store.Now(), Description: description,
		ParentVMID: &vm.ID, GrandparentCommitID: vm.ParentCommitID,
		Layers: append(slices.Clone(vm.Layers), layerID), Config: vm.Config,
	}
	if err := s.db.AddIntent(ctx, store.Intent{ID: layerID, Kind: intentCommit, VMID: vm.ID, Commit: c}); err != nil {
		return store.Commit{}, err
	}
	layers, err := s.vms.CommitAs(ctx, vm.ID, layerID, keepPaused)
	if err != nil {
		s.settleIntentAfterError(ctx, layerID, vm.ID)
		return store.Commit{}, mapRuntimeError(err)
	}
	c.Layers = layers
	if err := s.db.CompleteCommit(ctx, layerID, c, vm.ID, layers); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return c, conflict("commit %s already exists", commitID)
		}
		return c, err
	}
	state := vers.VMStateRunning
	if keepPaused {
		state = vers.VMStatePaused
	}
	if err := s.db.SetVMState(ctx, vm.ID, state); err != nil {
		return c, err
	}
	s.countCommit()
	return c, nil
}

func (s *Server) commitVM(w http.ResponseWriter, r *http.Request) error {
	vm, err := s.getVM(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	keepPaused, err := queryBool(r, "keep_paused")
	if err != nil {
		return err
	}
	if _, err := queryBool(r, "skip_wait_boot"); err != nil {
		return err
	}
	var req struct {
		CommitID    string  `json:"commit_id"`
		Name        *string `json:"name"`
		Description *string `json:"description"`
	}
	if err := decodeJSON(r, &req, true); err != nil {
		return err
	}
	if req.CommitID != "" {
		if err := checkID("commit_id", req.CommitID); err != nil {
			return err
		}
	}
	if err := checkText("name", req.Name, maxNameLen); err != nil {
		return err
	}
	if err := checkText("description", req.Description, maxDescriptionLen); err != nil {
		return err
	}
	c, err := s.commit(r.Context(), vm.ID, req.CommitID, req.Name, req.Description, keepPaused || s.opts.PauseOnCommit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, vers.CommitResponse{CommitID: c.ID})
	return nil
}

func checkText(field string, v *string, max int) error {
	if v == nil {
		return nil
	}
	if *v == "" && field == "name" {
		return badRequest("name must not be empty; leave it out to let the server pick one")
	}
	if len(*v) > max {
		return badRequest("%s is %d bytes long; the limit is %d", field, len(*v), max)
	}
	return nil
}

func (s *Server) commitInfo(c store.Commit) vers.CommitInfo {
	return vers.CommitInfo{
		CommitID: c.ID, Name: c.Name, OwnerID: s.ownerID(c.Org), CreatedAt: c.CreatedAt, IsPublic: c.IsPublic,
		Description: c.Description, ParentVMID: c.ParentVMID, GrandparentCommitID: c.GrandparentCommitID,
	}
}

func pageParam(r *http.Request, name string, def, max int64) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > max {
		return 0, badRequest("query parameter %s=%q must be a whole number from 0 to %d", name, truncate(v, 40), max)
	}
	return n, nil
}

func (s *Server) writeCommitPage(w http.ResponseWriter, r *http.Request, publicOnly bool) error {
	limit, err := pageParam(r, "limit", defaultCommitPage, maxCommitPage)
	if err != nil {
		return err
	}
	offset, err := pageParam(r, "offset", 0, 1<<62)
	if err != nil {
		return err
	}
	var commits []store.Commit
	var total int64
	if publicOnly {
		// Public commits of every organisation: metadata only, as a
		// commit of another organisation cannot be used (see getCommit).
		commits, total, err = s.db.ListPublicCommits(r.Context(), limit, offset)
	} else {
		commits, total, err = s.db.ListCommits(r.Context(), callerOrg(r.Context()).id, limit, offset)
	}
	if err != nil {
		return err
	}
	out := vers.ListCommitsResponse{Commits: make([]vers.CommitInfo, 0, len(commits)), Total: total, Limit: limit, Offset: offset}
	for _, c := range commits {
		out.Commits = append(out.Commits, s.commitInfo(c))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) listCommits(w http.ResponseWriter, r *http.Request) error {
	return s.writeCommitPage(w, r, false)
}

func (s *Server) listPublicCommits(w http.ResponseWriter, r *http.Request) error {
	return s.writeCommitPage(w, r, true)
}

// getCommit loads one of the caller's commits. Another organisation's
// commit is "not found" even when marked public: is_public lists a commit
// in /commits/public and nothing more; forking a public repository is how
// another organisation's image is used.
func (s *Server) getCommit(ctx context.Context, id string) (store.Commit, error) {
	if err := checkID("commit id", id); err != nil {
		return store.Commit{}, err
	}
	c, err := s.db.GetCommit(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && c.Org != callerOrg(ctx).id) {
		return store.Commit{}, notFound("Commit not found")
	}
	return c, err
}

func (s *Server) updateCommit(w http.ResponseWriter, r *http.Request) error {
	c, err := s.getCommit(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	var req struct {
		IsPublic    *bool   `json:"is_public"`
		Name        *string `json:"name"`
		Description *string `json:"description"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		return err
	}
	if req.IsPublic == nil {
		return badRequest("is_public is required")
	}
	if err := checkText("name", req.Name, maxNameLen); err != nil {
		return err
	}
	if err := checkText("description", req.Description, maxDescriptionLen); err != nil {
		return err
	}
	if err := s.db.UpdateCommit(r.Context(), c.ID, *req.IsPublic, req.Name, req.Description); err != nil {
		return err
	}
	if c, err = s.db.GetCommit(r.Context(), c.ID); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.commitInfo(c))
	return nil
}

// deleteCommit refuses (409) while a VM started from the commit exists or a
// tag points at it: deleting it would break a rollback target. The real
// service's rule for tags is undocumented (vers-api.md §7.8); refusing is
// the choice that never loses data.
func (s *Server) deleteCommit(w http.ResponseWriter, r *http.Request) error {
	c, err := s.getCommit(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	users, err := s.db.DeleteCommit(r.Context(), c.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound("Commit not found")
	case errors.Is(err, store.ErrConflict) && users.VMs > 0:
		return conflict("commit has active VMs (%d); delete them first", users.VMs)
	case errors.Is(err, store.ErrConflict):
		return conflict("commit is still tagged (%d repository tag(s), %d commit tag(s)); move or delete those tags first",
			users.RepoTags, users.CommitTags)
	case err != nil:
		return err
	}
	s.collectLayers(context.WithoutCancel(r.Context()))
	writeNoContent(w)
	return nil
}

// commitParents returns the ancestry chain, starting with the commit itself
// and following grandparent_commit_id (the commit the source VM started
// from) back to a root commit.
func (s *Server) commitParents(w http.ResponseWriter, r *http.Request) error {
	c, err := s.getCommit(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	out := []vers.CommitEntity{}
	seen := map[string]bool{}
	for {
		out = append(out, vers.CommitEntity{
			ID: c.ID, Name: c.Name, OwnerID: s.ownerID(c.Org), CreatedAt: c.CreatedAt, IsPublic: c.IsPublic,
			Description: c.Description, ParentVMID: c.ParentVMID, GrandparentCommitID: c.GrandparentCommitID,
		})
		seen[c.ID] = true
		if c.GrandparentCommitID == nil || seen[*c.GrandparentCommitID] {
			break
		}
		next, err := s.db.GetCommit(r.Context(), *c.GrandparentCommitID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && next.Org != c.Org) {
			// An ancestor was deleted, or belongs to another organisation
			// (a fork's source): the chain the caller may see ends here.
			break
		} else if err != nil {
			return fmt.Errorf("reading commit %s: %w", *c.GrandparentCommitID, err)
		}
		c = next
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
