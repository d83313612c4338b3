package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"slices"
)

// Commit freezes the VM's writable layer into a new immutable layer and
// returns the VM's new layer stack (bottom..top). The VM then continues on a
// fresh writable layer over that stack.
//
// Memory is not snapshotted: Commit syncs the filesystem, stops every
// process of the VM, and starts the VM again with none running. With
// keepPaused the restarted VM is left paused.
func (m *Manager) Commit(ctx context.Context, id string, keepPaused bool) ([]string, error) {
	defer m.lockID(id)()
	v, err := m.running(id)
	if err != nil {
		return nil, err
	}
	if err := v.call("sync"); err != nil {
		return nil, err
	}
	m.mu.Lock()
	delete(m.vms, id)
	m.mu.Unlock()
	m.stopVM(v)

	dir := m.vmDir(id)
	writable, flat := filepath.Join(dir, "upper"), false
	tmp, err := m.newLayerDir()
	if err != nil {
		return nil, err
	}
	if err := os.Rename(writable, filepath.Join(tmp, "root")); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	parent := v.stack[len(v.stack)-1]
	layerID, err := m.publishLayer(tmp, parent, flat)
	if err != nil {
		// Put the writable layer back so the VM's files are not lost.
		_ = os.Rename(filepath.Join(tmp, "root"), writable)
		os.RemoveAll(tmp)
		return nil, err
	}
	stack := append(slices.Clone(v.stack), layerID)
	if err := m.startLocked(ctx, id, stack, v.limits); err != nil {
		return stack, err
	}
	if keepPaused {
		if err := m.setPaused(id, true); err != nil {
			return stack, err
		}
	}
	return stack, nil
}
