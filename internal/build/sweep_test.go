package build

import (
	"context"
	"testing"
	"time"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

func TestBuilderLeaseFollowsTheDeadline(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	ctx, cancel := context.WithDeadline(context.Background(), now.Add(time.Hour))
	defer cancel()
	l := builderLabels(ctx, "b1", now)
	if l[labelRole] != roleBuilder || l[labelBuildID] != "b1" {
		t.Fatalf("labels = %v", l)
	}
	if got, want := l[labelLeaseUntil], "1700004200"; got != want { // deadline + 10 min grace
		t.Fatalf("lease = %s, want %s", got, want)
	}
	noDeadline := builderLabels(context.Background(), "b2", now)
	if noDeadline[labelLeaseUntil] != "1700022200" { // 6 h + 10 min
		t.Fatalf("default lease = %s", noDeadline[labelLeaseUntil])
	}
}

func TestExpiredBuilders(t *testing.T) {
	now := time.Unix(2000, 0)
	vms := []vers.VM{
		{VMID: "expired", Labels: map[string]string{labelRole: roleBuilder, labelLeaseUntil: "1999"}},
		{VMID: "live", Labels: map[string]string{labelRole: roleBuilder, labelLeaseUntil: "2001"}},
		{VMID: "garbled", Labels: map[string]string{labelRole: roleBuilder, labelLeaseUntil: "soon"}},
		{VMID: "user-vm", Labels: map[string]string{labelLeaseUntil: "1"}},
		{VMID: "no-labels"},
	}
	got := expiredBuilders(vms, now)
	if len(got) != 2 || got[0] != "expired" || got[1] != "garbled" {
		t.Fatalf("expired = %v, want [expired garbled]", got)
	}
}

type fakeSweepAPI struct {
	vms     []vers.VM
	deleted []string
}

func (f *fakeSweepAPI) ListVMs(context.Context) ([]vers.VM, error) { return f.vms, nil }
func (f *fakeSweepAPI) DeleteVM(_ context.Context, id string) (*vers.VMDeleteResponse, error) {
	f.deleted = append(f.deleted, id)
	return &vers.VMDeleteResponse{}, nil
}

func TestSweepDeletesOnlyExpiredBuilders(t *testing.T) {
	api := &fakeSweepAPI{vms: []vers.VM{
		{VMID: "old", Labels: map[string]string{labelRole: roleBuilder, labelLeaseUntil: "10"}},
		{VMID: "new", Labels: map[string]string{labelRole: roleBuilder, labelLeaseUntil: "99999999999"}},
	}}
	got, err := SweepExpiredBuilders(context.Background(), api, time.Unix(100, 0))
	if err != nil || len(got) != 1 || got[0] != "old" || len(api.deleted) != 1 {
		t.Fatalf("swept %v (deleted %v), err %v", got, api.deleted, err)
	}
}

func TestKeptBuilderGetsADay(t *testing.T) {
	now := time.Unix(1000, 0)
	l := keptBuilderLabels("b", now)
	vm := []vers.VM{{VMID: "kept", Labels: l}}
	if got := expiredBuilders(vm, now.Add(23*time.Hour)); len(got) != 0 {
		t.Fatalf("a kept builder was reaped after 23 h: %v", got)
	}
	if got := expiredBuilders(vm, now.Add(25*time.Hour)); len(got) != 1 {
		t.Fatalf("a kept builder must be reaped after its day: %v", got)
	}
}
