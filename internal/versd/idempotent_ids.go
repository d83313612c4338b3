package versd

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/google/uuid"

	"github.com/vers-sh/terraform-provider-vers/internal/versd/store"
)

// Idempotency records are stored after a handler returns, so a crash in
// between (versd killed while a VM boots) loses the record while the VM is
// already in the database. To make the client's retry find that VM instead
// of creating a second one, objects created under an X-Idempotency-Key get
// ids derived from the key: the retry derives the same id and finds it.
//
// The derivation is an HMAC keyed by a secret kept in the database, over the
// API principal, the method, the path, the key and the body's hash. Without
// the secret nobody can compute the id another client's retry will derive
// (and so plant an object under it), and the same key with another body
// derives other ids, so it can never find the first request's objects.

type idemCtxKey struct{}

// idemScope is one keyed request; seq numbers the objects it creates
// (branch with count > 1 creates several).
type idemScope struct {
	key string
	seq atomic.Int64
}

// withIdempotencyScope marks ctx as a keyed request; scope must already be
// the request's MAC (see Server.idempotencyScope).
func withIdempotencyScope(ctx context.Context, scope string) context.Context {
	return context.WithValue(ctx, idemCtxKey{}, &idemScope{key: scope})
}

// newObjectID returns a fresh random id, or the id derived from the
// request's idempotency scope and the object's position in the request.
// derived tells the caller that an existing object with this id is a replay
// of this very request.
func newObjectID(ctx context.Context, kind string) (id string, derived bool) {
	scope, _ := ctx.Value(idemCtxKey{}).(*idemScope)
	if scope == nil {
		return uuid.NewString(), false
	}
	n := scope.seq.Add(1)
	return uuid.NewSHA1(idNamespace, []byte(kind+"\x00"+scope.key+"\x00"+strconv.FormatInt(n, 10))).String(), true
}

// idNamespace keeps versd's derived ids apart from other SHA-1 UUIDs.
var idNamespace = uuid.MustParse("6f0b7c1e-3a52-4d38-9c2e-5b7d0e4a8f21")

// loadIdempotencySecret returns the server's secret, creating it on first
// start. It lives in the database (0600 in a 0700 directory) so restarts
// derive the same ids.
func loadIdempotencySecret(ctx context.Context, db *store.DB) ([]byte, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	v, err := db.SetMetaIfAbsent(ctx, "idempotency_secret", hex.EncodeToString(b[:]))
	if err != nil {
		return nil, err
	}
	secret, err := hex.DecodeString(v)
	if err != nil || len(secret) < 16 {
		return nil, fmt.Errorf("the stored idempotency secret is unreadable")
	}
	return secret, nil
}

// requestHash is what a key is bound to: method, path and body.
func requestHash(method, path string, body []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", method, path)
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// idempotencyScope is the secret-keyed MAC of the principal, the key and the
// request it is bound to.
func (s *Server) idempotencyScope(ctx context.Context, key, reqHash string) string {
	m := hmac.New(sha256.New, s.idemSecret)
	principal := sha256.Sum256([]byte(callerOrg(ctx).key))
	m.Write(principal[:])
	fmt.Fprintf(m, "\x00%s\x00%s", key, reqHash)
	return hex.EncodeToString(m.Sum(nil))
}
