package versd

import (
	"net/http"
)

// handlerFunc is a route handler that reports failures as errors; handle
// turns them into the documented error body.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// routes registers every endpoint of vers-api.md §2.1–2.5 plus files,
// label and /health, with Go 1.22 method-and-wildcard patterns.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	handle := func(pattern string, h handlerFunc, creates bool) {
		var fn http.HandlerFunc = func(w http.ResponseWriter, r *http.Request) {
			if err := h(w, r); err != nil {
				writeError(w, err)
			}
		}
		if creates {
			fn = s.idempotent(fn)
		}
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			infoFrom(r.Context()).pattern = pattern
			fn(w, r)
		})
	}
	const v1 = "/api/v1"

	mux.HandleFunc("GET /health", s.health)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, notFound("no such endpoint: %s %s", r.Method, truncate(r.URL.Path, 200)))
	})

	// VMs (§2.1)
	handle("GET "+v1+"/vms", s.listVMs, false)
	handle("POST "+v1+"/vm/new_root", s.newRoot, true)
	handle("POST "+v1+"/vm/from_commit", s.fromCommit, true)
	handle("POST "+v1+"/vm/{id}/branch", s.branchAuto, true)
	handle("POST "+v1+"/vm/branch/by_vm/{id}", s.branchByVM, true)
	handle("POST "+v1+"/vm/branch/by_commit/{id}", s.branchByCommit, true)
	handle("POST "+v1+"/vm/branch/by_tag/{tag}", s.branchByTag, true)
	handle("POST "+v1+"/vm/branch/by_ref/{repo}/{tag}", s.branchByRef, true)
	handle("POST "+v1+"/vm/{id}/commit", s.commitVM, true)
	handle("DELETE "+v1+"/vm/{id}", s.deleteVM, false)
	handle("GET "+v1+"/vm/{id}/status", s.vmStatus, false)
	handle("GET "+v1+"/vm/{id}/metadata", s.vmMetadata, false)
	handle("PATCH "+v1+"/vm/{id}/state", s.setVMState, false)
	handle("GET "+v1+"/vm/{id}/ssh_key", s.sshKey, false)
	handle("PATCH "+v1+"/vm/{id}/disk", s.resizeDisk, false)
	handle("PATCH "+v1+"/vm/{id}/label", s.setLabels, false)
	handle("POST "+v1+"/vm/{id}/exec", s.exec, false)
	handle("POST "+v1+"/vm/{id}/exec/stream", s.execStream, false)
	handle("POST "+v1+"/vm/{id}/exec/stream/attach", s.execAttach, false)
	handle("GET "+v1+"/vm/{id}/logs", s.execLogs, false)
	handle("GET "+v1+"/vm/{id}/files", s.getFile, false)
	handle("PUT "+v1+"/vm/{id}/files", s.putFile, false)

	// Commits (§2.2)
	handle("GET "+v1+"/commits", s.listCommits, false)
	handle("GET "+v1+"/commits/public", s.listPublicCommits, false)
	handle("PATCH "+v1+"/commits/{id}", s.updateCommit, false)
	handle("DELETE "+v1+"/commits/{id}", s.deleteCommit, false)
	handle("GET "+v1+"/vm/commits/{id}/parents", s.commitParents, false)

	// Legacy commit tags (§2.3)
	handle("POST "+v1+"/commit_tags", s.createCommitTag, true)
	handle("GET "+v1+"/commit_tags", s.listCommitTags, false)
	handle("GET "+v1+"/commit_tags/{tag}", s.getCommitTag, false)
	handle("PATCH "+v1+"/commit_tags/{tag}", s.updateCommitTag, false)
	handle("DELETE "+v1+"/commit_tags/{tag}", s.deleteCommitTag, false)

	// Repositories and their tags (§2.4)
	handle("POST "+v1+"/repositories", s.createRepo, true)
	handle("GET "+v1+"/repositories", s.listRepos, false)
	handle("GET "+v1+"/repositories/{repo}", s.getRepo, false)
	handle("DELETE "+v1+"/repositories/{repo}", s.deleteRepo, false)
	handle("PATCH "+v1+"/repositories/{repo}/visibility", s.setRepoVisibility, false)
	handle("POST "+v1+"/repositories/fork", s.forkRepo, true)
	handle("POST "+v1+"/repositories/{repo}/tags", s.createRepoTag, true)
	handle("GET "+v1+"/repositories/{repo}/tags", s.listRepoTags, false)
	handle("GET "+v1+"/repositories/{repo}/tags/{tag}", s.getRepoTag, false)
	handle("PATCH "+v1+"/repositories/{repo}/tags/{tag}", s.updateRepoTag, false)
	handle("DELETE "+v1+"/repositories/{repo}/tags/{tag}", s.deleteRepoTag, false)

	// Account environment variables (the official CLI's `vers env`)
	handle("GET "+v1+"/env_vars", s.listEnvVars, false)
	handle("PUT "+v1+"/env_vars", s.setEnvVars, false)
	handle("DELETE "+v1+"/env_vars/{key}", s.deleteEnvVar, false)

	// Public repositories (§2.5)
	handle("GET "+v1+"/public/repositories", s.listPublicRepos, false)
	handle("GET "+v1+"/public/repositories/{org}/{repo}", s.getPublicRepo, false)
	handle("GET "+v1+"/public/repositories/{org}/{repo}/tags", s.listPublicRepoTags, false)
	handle("GET "+v1+"/public/repositories/{org}/{repo}/tags/{tag}", s.getPublicRepoTag, false)
	return mux
}

// health answers without authentication, like the real service.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	infoFrom(r.Context()).pattern = "GET /health"
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "server": "versd"})
}
