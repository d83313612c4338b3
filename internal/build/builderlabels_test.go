package build

import (
	"context"
	"testing"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// newRootRecorder passes every call to versd and remembers the new_root
// request.
type newRootRecorder struct {
	*vers.Client
	requests []vers.NewRootRequest
}

func (r *newRootRecorder) CreateVMNewRoot(ctx context.Context, req vers.NewRootRequest, waitBoot bool) (*vers.NewVMResponse, error) {
	r.requests = append(r.requests, req)
	return r.Client.CreateVMNewRoot(ctx, req, waitBoot)
}

// A scratch builder carries its lease from the create request on, so a
// new_root that outlives the client's timeout never leaves an unlabelled
// VM the sweeper cannot reap; the vm_config's own labels survive.
func TestExecute_scratchBuilderIsLabelledAtCreate(t *testing.T) {
	ts := startServer(t)
	rec := &newRootRecorder{Client: ts.client}
	prep := prepare(t, t.TempDir(), "FROM scratch\nRUN true\n")
	prep.Spec.VMConfig.Labels = map[string]string{"team": "infra"}
	if _, err := Execute(context.Background(), rec, prep, Options{BuildID: "labelled"}); err != nil {
		t.Fatal(err)
	}
	if len(rec.requests) != 1 {
		t.Fatalf("%d new_root requests, want 1", len(rec.requests))
	}
	got := rec.requests[0].VMConfig.Labels
	if got[labelRole] != roleBuilder || got[labelBuildID] != "labelled" || got[labelLeaseUntil] == "" || got["team"] != "infra" {
		t.Fatalf("new_root labels = %v", got)
	}
	if len(prep.Spec.VMConfig.Labels) != 1 {
		t.Fatalf("the spec's vm_config was modified: %v", prep.Spec.VMConfig.Labels)
	}
}
