package versd

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// The same key with a different body is refused (422), never answered with
// the first request's response; the same key with the same body replays.
func TestIdempotencyKeyIsBoundToTheRequest(t *testing.T) {
	s := startTest(t, "")
	c := newClient(t, s)
	c.hdr = map[string]string{"X-Idempotency-Key": "k-1"}
	first := c.must(201, "POST", "/api/v1/repositories", map[string]any{"name": "one"}, nil)
	again := c.must(201, "POST", "/api/v1/repositories", map[string]any{"name": "one"}, nil)
	if again.header.Get("Idempotent-Replayed") != "true" || string(again.body) != string(first.body) {
		t.Fatalf("the same request was not replayed: %s / %s", first.body, again.body)
	}
	r := c.do("POST", "/api/v1/repositories", map[string]any{"name": "two"})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.errorMessage(t), "different request") {
		t.Fatalf("same key, other body: status %d %s, want 422", r.status, r.body)
	}
	c.hdr = nil
	c.must(404, "GET", "/api/v1/repositories/two", nil, nil)
}

// The takeover of issue 12: an attacker who knows a victim's idempotency key
// plants a commit under the id the victim's request will derive. The
// victim's commit must still snapshot the victim's VM.
func TestIdempotencyTakeoverIsRefused(t *testing.T) {
	s := startTest(t, "")
	c := newClient(t, s)
	victimVM, attackerVM := c.newRoot(), c.newRoot()
	key := "victim-retry-key"
	path := "/api/v1/vm/" + victimVM + "/commit"
	// The old derivation was public: SHA-1 of kind, route, key, position.
	predicted := uuid.NewSHA1(idNamespace, []byte("commit\x00POST "+path+"\x00"+key+"\x001")).String()
	c.commit(attackerVM, map[string]any{"commit_id": predicted})

	c.hdr = map[string]string{"X-Idempotency-Key": key}
	got := c.commit(victimVM, nil)
	c.hdr = nil
	var chain []struct {
		ParentVMID string `json:"parent_vm_id"`
	}
	c.must(200, "GET", "/api/v1/vm/commits/"+got+"/parents", nil, &chain)
	if got == predicted || len(chain) == 0 || chain[0].ParentVMID != victimVM {
		t.Fatalf("the victim got commit %s (%+v), want a snapshot of its own VM %s", got, chain, victimVM)
	}
	// A client-supplied commit_id that exists is a conflict, not a replay.
	r := c.do("POST", path, map[string]any{"commit_id": predicted})
	if r.status != http.StatusConflict {
		t.Fatalf("existing commit_id: status %d %s, want 409", r.status, r.body)
	}
}

// Even if a derived id were guessed, a commit of another VM found under it
// is a conflict, not this request's answer.
func TestDerivedCommitOfAnotherVMIsAConflict(t *testing.T) {
	s := startTest(t, "")
	c := newClient(t, s)
	victimVM, attackerVM := c.newRoot(), c.newRoot()
	scope := s.idempotencyScope(context.Background(), "k", requestHash("POST", "/x", nil))
	planted, _ := newObjectID(withIdempotencyScope(context.Background(), scope), "commit")
	c.commit(attackerVM, map[string]any{"commit_id": planted})
	_, err := s.commit(withIdempotencyScope(context.Background(), scope), victimVM, "", nil, nil, false)
	var ae *apiError
	if !errors.As(err, &ae) || ae.status != http.StatusConflict {
		t.Fatalf("commit under a planted derived id: %v, want 409", err)
	}
}

// Ids derived for the same key differ between servers (secrets) and between
// bodies, so a key alone predicts nothing.
func TestDerivedIDsDependOnSecretAndBody(t *testing.T) {
	a, b := startTest(t, ""), startTest(t, "")
	h1, h2 := requestHash("POST", "/p", []byte("1")), requestHash("POST", "/p", []byte("2"))
	if a.idempotencyScope(context.Background(), "k", h1) == b.idempotencyScope(context.Background(), "k", h1) {
		t.Fatal("two servers derive the same scope: the secret is not used")
	}
	if a.idempotencyScope(context.Background(), "k", h1) == a.idempotencyScope(context.Background(), "k", h2) {
		t.Fatal("two bodies derive the same scope")
	}
}
