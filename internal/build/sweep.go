package build

import (
	"context"
	"strconv"
	"time"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// Builder VMs carry a lease in their labels. A build that dies without
// cleaning up (a killed CI job, a crashed runner) leaves a VM whose lease
// runs out; the next build of any workspace reaps it. Live builds renew
// nothing: their lease is the deadline of their own context, so a concurrent
// build elsewhere is never touched.
const (
	labelRole       = "vers-build-role"
	labelBuildID    = "vers-build-id"
	labelLeaseUntil = "vers-build-lease-until"
	roleBuilder     = "builder"
	// defaultLease bounds builds whose context has no deadline.
	defaultLease = 6 * time.Hour
	// leaseGrace covers cleanup after the deadline and clock skew.
	leaseGrace = 10 * time.Minute
)

// builderLabels marks a builder VM with its build and lease.
func builderLabels(ctx context.Context, buildID string, now time.Time) map[string]string {
	until := now.Add(defaultLease)
	if d, ok := ctx.Deadline(); ok {
		until = d
	}
	until = until.Add(leaseGrace)
	return map[string]string{labelRole: roleBuilder, labelBuildID: buildID, labelLeaseUntil: strconv.FormatInt(until.Unix(), 10)}
}

// keptFailedBuilderLease is how long a builder kept for debugging
// (keep_failed_builder) survives the sweeper.
const keptFailedBuilderLease = 24 * time.Hour

// keptBuilderLabels extends a kept builder's lease.
func keptBuilderLabels(buildID string, now time.Time) map[string]string {
	return map[string]string{labelRole: roleBuilder, labelBuildID: buildID,
		labelLeaseUntil: strconv.FormatInt(now.Add(keptFailedBuilderLease).Unix(), 10)}
}

// expiredBuilders returns the builder VMs whose lease ran out.
func expiredBuilders(vms []vers.VM, now time.Time) []string {
	var out []string
	for _, vm := range vms {
		if vm.Labels[labelRole] != roleBuilder {
			continue
		}
		until, err := strconv.ParseInt(vm.Labels[labelLeaseUntil], 10, 64)
		if err != nil || now.Unix() > until {
			out = append(out, vm.VMID)
		}
	}
	return out
}

// SweepExpiredBuilders deletes builder VMs left behind by builds that died.
// It returns the ids it deleted. Errors deleting one VM do not stop the rest.
func SweepExpiredBuilders(ctx context.Context, api SweepAPI, now time.Time) ([]string, error) {
	vms, err := api.ListVMs(ctx)
	if err != nil {
		return nil, err
	}
	var deleted []string
	for _, id := range expiredBuilders(vms, now) {
		if _, err := api.DeleteVM(ctx, id); err == nil || vers.IsNotFound(err) {
			deleted = append(deleted, id)
		}
	}
	return deleted, nil
}

// SweepAPI is what the sweeper needs; *vers.Client implements it.
type SweepAPI interface {
	ListVMs(ctx context.Context) ([]vers.VM, error)
	DeleteVM(ctx context.Context, vmID string) (*vers.VMDeleteResponse, error)
}
