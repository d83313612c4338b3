package versd

import (
	"context"
	"errors"
	"fmt"

	"github.com/vers-sh/terraform-provider-vers/internal/versd/store"
)

const intentCommit = "commit"

// recoverIntents settles every operation a crash interrupted, before the VMs
// restart and before layer clean-up, so neither hands a VM an empty writable
// layer nor deletes a layer that holds its files.
func (s *Server) recoverIntents(ctx context.Context) error {
	intents, err := s.db.Intents(ctx)
	if err != nil {
		return fmt.Errorf("versd: reading intents: %w", err)
	}
	for _, in := range intents {
		if err := s.settleIntent(ctx, in); err != nil {
			return fmt.Errorf("versd: recovering %s %s of VM %s: %w", in.Kind, in.ID, in.VMID, err)
		}
	}
	if len(intents) > 0 {
		s.logf("versd: settled %d interrupted operation(s)", len(intents))
	}
	return nil
}

// settleIntent finishes a commit whose layer was published (the data is in
// the layer; the record the crash prevented is written now) or drops it when
// the sandbox gave the writable layer back to the VM.
func (s *Server) settleIntent(ctx context.Context, in store.Intent) error {
	if in.Kind != intentCommit {
		return fmt.Errorf("unknown intent kind %q", in.Kind)
	}
	published, err := s.vms.RecoverCommit(in.VMID, in.ID)
	if err != nil {
		return err
	}
	if !published {
		return s.db.DropIntent(ctx, in.ID)
	}
	err = s.db.CompleteCommit(ctx, in.ID, in.Commit, in.VMID, in.Commit.Layers)
	if errors.Is(err, store.ErrConflict) {
		// The commit id was taken meanwhile; keep the data under a fresh id
		// rather than lose it.
		in.Commit.ID, _ = newObjectID(context.Background(), "commit")
		err = s.db.CompleteCommit(ctx, in.ID, in.Commit, in.VMID, in.Commit.Layers)
	}
	return err
}

// settleIntentAfterError runs recovery for a commit that failed while the
// server kept running: if the layer was published before the failure, the
// commit is recorded so the layer (the VM's files) is not collected.
func (s *Server) settleIntentAfterError(ctx context.Context, layerID, vmID string) {
	intents, err := s.db.Intents(ctx)
	if err != nil {
		s.logf("versd: reading intents: %v", err)
		return
	}
	for _, in := range intents {
		if in.ID == layerID && in.VMID == vmID {
			if err := s.settleIntent(ctx, in); err != nil {
				s.logf("versd: settling commit %s of VM %s: %v (retried at the next start)", layerID, vmID, err)
			}
		}
	}
}

// removeOrphanSandboxes deletes sandboxes no VM record owns: a crash came
// between a delete's record removal and its sandbox removal.
func (s *Server) removeOrphanSandboxes(ctx context.Context) error {
	onDisk, err := s.vms.VMs()
	if err != nil {
		return fmt.Errorf("versd: listing sandboxes: %w", err)
	}
	for _, id := range onDisk {
		if _, err := s.db.GetVM(ctx, id); errors.Is(err, store.ErrNotFound) {
			s.logf("versd: removing the sandbox of deleted VM %s", id)
			if err := s.vms.DeleteVM(id); err != nil && !errors.Is(err, errVMNotFound) {
				return fmt.Errorf("versd: removing the sandbox of deleted VM %s: %w", id, err)
			}
		} else if err != nil {
			return err
		}
	}
	return nil
}
