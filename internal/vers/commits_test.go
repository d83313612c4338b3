package vers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
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
	var requests int
	env := newTestEnv(t, 0, func(w http.ResponseWriter, r *http.Request) {
		requests++
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
	if requests != 6 { // ceil(257/50)
		t.Fatalf("%d requests, want 6", requests)
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
	var requests int
	env := newTestEnv(t, 0, func(w http.ResponseWriter, r *http.Request) {
		requests++
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
	if len(got) != commitPageSize || requests != 2 {
		t.Fatalf("got %d commits in %d requests; want the first page once and a stop", len(got), requests)
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
