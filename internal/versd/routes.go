package versd

import (
	"net/http"
)

// handlerFunc is a route handler that reports failures as errors; routes
// turns them into the documented error body.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// apiRoute is one /api/v1 endpoint; creates marks the POSTs that
// X-Idempotency-Key makes safe to retry.
type apiRoute struct {
	pattern string
	h       handlerFunc
	creates bool
}

// apiRoutes lists every endpoint of vers-api.md §2.1–2.5 plus files, label
// and env vars, with Go 1.22 method-and-wildcard patterns. Each acts for the
// organisation of the request's key; the privacy test walks this list, so
// a new route fails it until the test covers it.
func (s *Server) apiRoutes() []apiRoute {
	return []apiRoute{
		// VMs (§2.1)
		{"GET /api/v1/vms", s.listVMs, false},
		{"POST /api/v1/vm/new_root", s.newRoot, true},
		{"POST /api/v1/vm/from_commit", s.fromCommit, true},
		{"POST /api/v1/vm/{id}/branch", s.branchAuto, true},
		{"POST /api/v1/vm/branch/by_vm/{id}", s.branchByVM, true},
		{"POST /api/v1/vm/branch/by_commit/{id}", s.branchByCommit, true},
		{"POST /api/v1/vm/branch/by_tag/{tag}", s.branchByTag, true},
		{"POST /api/v1/vm/branch/by_ref/{repo}/{tag}", s.branchByRef, true},
		{"POST /api/v1/vm/{id}/commit", s.commitVM, true},
		{"DELETE /api/v1/vm/{id}", s.deleteVM, false},
		{"GET /api/v1/vm/{id}/status", s.vmStatus, false},
		{"GET /api/v1/vm/{id}/metadata", s.vmMetadata, false},
		{"PATCH /api/v1/vm/{id}/state", s.setVMState, false},
		{"GET /api/v1/vm/{id}/ssh_key", s.sshKey, false},
		{"PATCH /api/v1/vm/{id}/disk", s.resizeDisk, false},
		{"PATCH /api/v1/vm/{id}/label", s.setLabels, false},
		{"POST /api/v1/vm/{id}/exec", s.exec, false},
		{"POST /api/v1/vm/{id}/exec/stream", s.execStream, false},
		{"POST /api/v1/vm/{id}/exec/stream/attach", s.execAttach, false},
		{"GET /api/v1/vm/{id}/logs", s.execLogs, false},
		{"GET /api/v1/vm/{id}/files", s.getFile, false},
		{"PUT /api/v1/vm/{id}/files", s.putFile, false},

		// Commits (§2.2)
		{"GET /api/v1/commits", s.listCommits, false},
		{"GET /api/v1/commits/public", s.listPublicCommits, false},
		{"PATCH /api/v1/commits/{id}", s.updateCommit, false},
		{"DELETE /api/v1/commits/{id}", s.deleteCommit, false},
		{"GET /api/v1/vm/commits/{id}/parents", s.commitParents, false},

		// Legacy commit tags (§2.3)
		{"POST /api/v1/commit_tags", s.createCommitTag, true},
		{"GET /api/v1/commit_tags", s.listCommitTags, false},
		{"GET /api/v1/commit_tags/{tag}", s.getCommitTag, false},
		{"PATCH /api/v1/commit_tags/{tag}", s.updateCommitTag, false},
		{"DELETE /api/v1/commit_tags/{tag}", s.deleteCommitTag, false},

		// Repositories and their tags (§2.4)
		{"POST /api/v1/repositories", s.createRepo, true},
		{"GET /api/v1/repositories", s.listRepos, false},
		{"GET /api/v1/repositories/{repo}", s.getRepo, false},
		{"DELETE /api/v1/repositories/{repo}", s.deleteRepo, false},
		{"PATCH /api/v1/repositories/{repo}/visibility", s.setRepoVisibility, false},
		{"POST /api/v1/repositories/fork", s.forkRepo, true},
		{"POST /api/v1/repositories/{repo}/tags", s.createRepoTag, true},
		{"GET /api/v1/repositories/{repo}/tags", s.listRepoTags, false},
		{"GET /api/v1/repositories/{repo}/tags/{tag}", s.getRepoTag, false},
		{"PATCH /api/v1/repositories/{repo}/tags/{tag}", s.updateRepoTag, false},
		{"DELETE /api/v1/repositories/{repo}/tags/{tag}", s.deleteRepoTag, false},

		// Account environment variables (the official CLI's `vers env`)
		{"GET /api/v1/env_vars", s.listEnvVars, false},
		{"PUT /api/v1/env_vars", s.setEnvVars, false},
		{"DELETE /api/v1/env_vars/{key}", s.deleteEnvVar, false},

		// Public repositories (§2.5)
		{"GET /api/v1/public/repositories", s.listPublicRepos, false},
		{"GET /api/v1/public/repositories/{org}/{repo}", s.getPublicRepo, false},
		{"GET /api/v1/public/repositories/{org}/{repo}/tags", s.listPublicRepoTags, false},
		{"GET /api/v1/public/repositories/{org}/{repo}/tags/{tag}", s.getPublicRepoTag, false},
	}
}

// routes registers the API routes, /health and a JSON 404 for the rest.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	for _, rt := range s.apiRoutes() {
		h, pattern := rt.h, rt.pattern
		var fn http.HandlerFunc = func(w http.ResponseWriter, r *http.Request) {
			if err := h(w, r); err != nil {
				writeError(w, err)
			}
		}
		if rt.creates {
			fn = s.idempotent(fn)
		}
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			infoFrom(r.Context()).pattern = pattern
			fn(w, r)
		})
	}
	mux.HandleFunc("GET /health", s.health)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, notFound("no such endpoint: %s %s", r.Method, truncate(r.URL.Path, 200)))
	})
	return mux
}

// health answers without authentication, like the real service.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	infoFrom(r.Context()).pattern = "GET /health"
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "server": "versd"})
}
