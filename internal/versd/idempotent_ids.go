package versd

import (
	"context"
	"strconv"
	"sync/atomic"

	"github.com/google/uuid"
)

// Idempotency records are stored after a handler returns, so a crash in
// between (versd killed while a VM boots) loses the record while the VM is
// already in the database. To make the client's retry find that VM instead
// of creating a second one, objects created under an X-Idempotency-Key get
// ids derived from the key: the retry derives the same id and finds it.

type idemCtxKey struct{}

// idemScope is one keyed request; seq numbers the objects it creates
// (branch with count > 1 creates several).
type idemScope struct {
	key string
	seq atomic.Int64
}

func withIdempotencyScope(ctx context.Context, routeAndKey string) context.Context {
	return context.WithValue(ctx, idemCtxKey{}, &idemScope{key: routeAndKey})
}

// newObjectID returns a fresh random id, or the id derived from the
// request's idempotency key and the object's position in the request.
// derived tells the caller that an existing object with this id is a replay.
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
