package vers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

func makeCommits(n int) []CommitInfo {
	out := make([]CommitInfo, n)
	for i := range out {
		out[i] = CommitInfo{CommitID: fmt.Sprintf("c%04d", i), Name: fmt.Sprintf("n%d", i)}
	}
	return out
}

func commitPage(all []CommitInfo, limit, offset int) ListCommitsResponse {
	end := min(offset+limit, len(all))
	if offset > len(all) {
		offset = len(all)
	}
	return ListCommitsResponse{Commits: all[offset:end], Total: int64(len(all)), Limit: int64(limit), Offset: int64(offset)}
}

func TestListAllCommitsPaginates(t *testing.T) {
	all := makeCommits(257)
	var requests atomic.Int32
	env := newTestEnv(t, 0, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		if limit <= 0 || limit > 50 { // this server caps pages at 50
			limit = 50
		}
		b, _ := json.Marshal(commitPage(all, limit, offset))
		writeJSON(w, http.StatusOK, string(b))
	})
	got, err := env.client.ListAllCommits(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(all) {
		t.Fatalf("got %d commits, want %d", len(got), len(all))
	}
	for i := range got {
		if got[i].CommitID != all[i].CommitID {
			t.Fatalf("commit %d = %s, want %s", i, got[i].CommitID, all[i].CommitID)
		}
	}
	if n := requests.Load(); n != 6 { // ceil(257/50)
		t.Fatalf("%d requests, want 6", n)
	}
}

func TestListAllCommitsServerIgnoringPaging(t *testing.T) {
	all := makeCommits(130)
	var requests int
	env := newTestEnv(t, 0, func(w http.ResponseWriter, r *http.Request) {
		requests++
		b, _ := json.Marshal(ListCommitsResponse{Commits: all, Total: int64(len(all)), Limit: 50})
		writeJSON(w, http.StatusOK, string(b))
	})
	got, err := env.client.ListAllCommits(context.Background())
	if err != nil || len(got) != 130 || requests != 1 {
		t.Fatalf("got %d commits in %d requests, err %v", len(got), requests, err)
	}
}

func TestListAllCommitsServerIgnoringOffsetTerminates(t *testing.T) {
	all := makeCommits(300)
	var requests atomic.Int32
	env := newTestEnv(t, 0, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		page := commitPage(all, limit, 0) // offset ignored
		page.Total = 0                    // and no total either
		b, _ := json.Marshal(page)
		writeJSON(w, http.StatusOK, string(b))
	})
	got, err := env.client.ListAllCommits(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n := requests.Load(); len(got) != commitPageSize || n != 2 {
		t.Fatalf("got %d commits in %d requests; want the first page once and a stop", len(got), n)
	}
}

func TestListCommitsSendsPagingOnlyWhenAsked(t *testing.T) {
	var queries []string
	env := newTestEnv(t, 0, func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.RawQuery)
		writeJSON(w, http.StatusOK, `{"commits":[],"total":0}`)
	})
	ctx := context.Background()
	if _, err := env.client.ListCommits(ctx, 0, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := env.client.ListPublicCommits(ctx, 10, 20); err != nil {
		t.Fatal(err)
	}
	if queries[0] != "" || queries[1] != "limit=10&offset=20" {
		t.Fatalf("queries = %q", queries)
	}
}

// TestListAllCommitsFetchesPagesConcurrently checks that after the first
// page the rest are in flight together: a server that answers each page
// only once several are waiting would deadlock a one-by-one client.
func TestListAllCommitsFetchesPagesConcurrently(t *testing.T) {
	all := makeCommits(4*commitPageSize + 7)
	var waiting atomic.Int32
	release := make(chan struct{})
	env := newTestEnv(t, 0, func(w http.ResponseWriter, r *http.Request) {
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		if offset > 0 && waiting.Add(1) == 4 {
			close(release) // all four later pages are being asked for at once
		}
		if offset > 0 {
			select {
			case <-release:
			case <-time.After(5 * time.Second):
				http.Error(w, "pages were requested one by one", http.StatusGatewayTimeout)
				return
			}
		}
		b, _ := json.Marshal(commitPage(all, limit, offset))
		writeJSON(w, http.StatusOK, string(b))
	})
	got, err := env.client.ListAllCommits(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(all) {
		t.Fatalf("got %d commits, want %d", len(got), len(all))
	}
	for i := range got {
		if got[i].CommitID != all[i].CommitID {
			t.Fatalf("commit %d = %s, want %s (order must be kept)", i, got[i].CommitID, all[i].CommitID)
		}
	}
}
