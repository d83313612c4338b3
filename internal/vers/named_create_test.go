package vers

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// repoServer is a minimal repository store whose first create applies the
// change and then loses the response (drops the connection).
type repoServer struct {
	mu        sync.Mutex
	repos     map[string]RepositoryInfo
	posts     int
	loseFirst bool
	// honourKey makes the server replay the stored answer for a repeated
	// X-Idempotency-Key, as versd does.
	honourKey bool
	byKey     map[string]string
}

func (s *repoServer) handle(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/api/v1/repositories":
			s.posts++
			key := r.Header.Get("X-Idempotency-Key")
			if s.honourKey {
				if body, ok := s.byKey[key]; ok {
					writeJSON(w, http.StatusCreated, body)
					return
				}
			}
			var req CreateRepositoryRequest
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
				t.Errorf("decode: %v", err)
			}
			if _, ok := s.repos[req.Name]; ok {
				w.Header().Set("X-Should-Retry", "false")
				writeJSON(w, http.StatusConflict, `{"error":"repository already exists","success":false}`)
				return
			}
			var desc *string
			if req.Description != "" {
				desc = &req.Description
			}
			s.repos[req.Name] = RepositoryInfo{RepoID: "r-" + req.Name, Name: req.Name, Description: desc}
			body := `{"repo_id":"r-` + req.Name + `","name":"` + req.Name + `"}`
			if s.byKey != nil {
				s.byKey[key] = body
			}
			if s.loseFirst && s.posts == 1 {
				dropConnection(t, w)
				return
			}
			writeJSON(w, http.StatusCreated, body)
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/v1/repositories/"):
			info, ok := s.repos[strings.TrimPrefix(r.URL.Path, "/api/v1/repositories/")]
			if !ok {
				writeJSON(w, http.StatusNotFound, `{"error":"not found"}`)
				return
			}
			b, _ := json.Marshal(info)
			writeJSON(w, http.StatusOK, string(b))
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		}
	}
}

func TestCreateRepositoryRecognisesOwnLostCreate(t *testing.T) {
	srv := &repoServer{repos: map[string]RepositoryInfo{}, loseFirst: true}
	env := newTestEnv(t, 8, srv.handle(t))
	out, err := env.client.CreateRepository(context.Background(), CreateRepositoryRequest{Name: "app", Description: "web"})
	if err != nil {
		t.Fatalf("create after a lost response: %v", err)
	}
	if out.RepoID != "r-app" || out.Name != "app" {
		t.Fatalf("got %+v", out)
	}
	if srv.posts != 2 {
		t.Fatalf("server saw %d POSTs, want 2", srv.posts)
	}
	if len(srv.repos) != 1 {
		t.Fatalf("server holds %d repos", len(srv.repos))
	}
	if !env.logs.contains("matches the request") || !env.logs.contains("level:warn") {
		t.Fatalf("recognition not logged as a warning: %v", env.logs.all())
	}
}

func TestCreateRepositoryLostCreateMismatchSaysSo(t *testing.T) {
	srv := &repoServer{repos: map[string]RepositoryInfo{}, loseFirst: true}
	env := newTestEnv(t, 8, srv.handle(t))
	// Someone changes the repo between our lost attempt and the retry.
	env.server.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv.handle(t)(w, r)
		if r.Method == http.MethodPost {
			srv.mu.Lock()
			other := "someone else's"
			info := srv.repos["app"]
			info.Description = &other
			srv.repos["app"] = info
			srv.mu.Unlock()
		}
	})
	_, err := env.client.CreateRepository(context.Background(), CreateRepositoryRequest{Name: "app", Description: "web"})
	var dup *DuplicateCreateError
	if !errors.As(err, &dup) {
		t.Fatalf("err = %v, want *DuplicateCreateError", err)
	}
	if !IsConflict(err) {
		t.Fatal("the duplicate error must still unwrap to the 409")
	}
	for _, want := range []string{"earlier attempt may have created it", `"someone else's"`, `"web"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestCreateRepositoryWithIdempotentServerCreatesOnce(t *testing.T) {
	srv := &repoServer{repos: map[string]RepositoryInfo{}, loseFirst: true, honourKey: true, byKey: map[string]string{}}
	env := newTestEnv(t, 8, srv.handle(t))
	out, err := env.client.CreateRepository(context.Background(), CreateRepositoryRequest{Name: "app"})
	if err != nil || out.RepoID != "r-app" {
		t.Fatalf("got %+v, %v", out, err)
	}
	if env.logs.contains("matches the request") {
		t.Fatal("the server deduplicated by key; no 409 recovery should have run")
	}
}

func TestCreateRepoTagRecognisesOwnLostCreate(t *testing.T) {
	var posts int
	tagExists := false
	env := newTestEnv(t, 8, func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost:
			posts++
			if tagExists {
				writeJSON(w, http.StatusConflict, `{"error":"tag exists"}`)
				return
			}
			tagExists = true
			writeJSON(w, http.StatusBadGateway, `{"error":"proxy lost the upstream answer"}`)
		case http.MethodGet:
			if r.URL.Path != "/api/v1/repositories/app/tags/latest" {
				t.Errorf("GET %s", r.URL.Path)
			}
			writeJSON(w, http.StatusOK, `{"tag_id":"t1","tag_name":"latest","commit_id":"c1","reference":"app:latest"}`)
		}
	})
	out, err := env.client.CreateRepoTag(context.Background(), "app", CreateRepoTagRequest{TagName: "latest", CommitID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	if out.TagID != "t1" || out.Reference != "app:latest" || posts != 2 {
		t.Fatalf("got %+v after %d posts", out, posts)
	}

	// Same story, but the tag points elsewhere: a clear error.
	tagExists = false
	_, err = env.client.CreateRepoTag(context.Background(), "app", CreateRepoTagRequest{TagName: "latest", CommitID: "c2"})
	var dup *DuplicateCreateError
	if !errors.As(err, &dup) || !strings.Contains(err.Error(), `commit_id is "c1", requested "c2"`) {
		t.Fatalf("err = %v", err)
	}
}
