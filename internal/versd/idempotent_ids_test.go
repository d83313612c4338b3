package versd

import (
	"context"
	"testing"
)

func TestDerivedIDsAreStablePerKeyAndPosition(t *testing.T) {
	a1, d := newObjectID(withIdempotencyScope(context.Background(), "POST /vm\x00k1"), "vm")
	if !d {
		t.Fatal("a keyed request must derive ids")
	}
	ctx := withIdempotencyScope(context.Background(), "POST /vm\x00k1")
	b1, _ := newObjectID(ctx, "vm")
	b2, _ := newObjectID(ctx, "vm")
	other, _ := newObjectID(withIdempotencyScope(context.Background(), "POST /vm\x00k2"), "vm")
	if a1 != b1 {
		t.Fatalf("the same key must give the same first id: %s vs %s", a1, b1)
	}
	if b1 == b2 || b1 == other {
		t.Fatal("different positions or keys must give different ids")
	}
	r1, d := newObjectID(context.Background(), "vm")
	r2, _ := newObjectID(context.Background(), "vm")
	if d || r1 == r2 {
		t.Fatal("without a key ids are random")
	}
}

// A retry whose first attempt created the VM but lost its idempotency
// record (a crash) must find that VM, not create another.
func TestRetryAfterLostRecordFindsTheVM(t *testing.T) {
	s := startTest(t, "")
	ctx := withIdempotencyScope(context.Background(), "POST /api/v1/vm/new_root\x00crash-key")
	spec := vmSpec{layers: []string{s.vms.BaseLayer()}}
	first, err := s.createVM(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	retry := withIdempotencyScope(context.Background(), "POST /api/v1/vm/new_root\x00crash-key")
	second, err := s.createVM(retry, spec)
	if err != nil {
		t.Fatal(err)
	}
	if first != second {
		t.Fatalf("the retry created VM %s besides %s", second, first)
	}
	vms, err := s.db.ListVMs(context.Background())
	if err != nil || len(vms) != 1 {
		t.Fatalf("versd holds %d VMs, want 1 (err %v)", len(vms), err)
	}
}
