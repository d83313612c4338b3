package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// commitPrefix names the staging directory of a commit in flight. Unlike
// tmpPrefix it survives New: it may hold the only copy of a VM's writable
// layer, which RecoverCommit gives back or publishes.
const commitPrefix = ".commit-"

func (m *Manager) commitStaging(layerID string) string {
	return filepath.Join(m.layersDir, commitPrefix+layerID)
}

// NewLayerID picks an id no layer on disk uses, so that the caller can record
// it (an intent) before CommitAs moves any data.
func (m *Manager) NewLayerID() (string, error) {
	for range 16 {
		id := randomID()
		_, errLayer := os.Lstat(m.layerDir(id))
		_, errStaging := os.Lstat(m.commitStaging(id))
		if errors.Is(errLayer, fs.ErrNotExist) && errors.Is(errStaging, fs.ErrNotExist) {
			return id, nil
		}
	}
	return "", errors.New("sandbox: could not pick an unused layer id")
}

// Commit is CommitAs with a fresh layer id.
func (m *Manager) Commit(ctx context.Context, id string, keepPaused bool) ([]string, error) {
	layerID, err := m.NewLayerID()
	if err != nil {
		return nil, err
	}
	return m.CommitAs(ctx, id, layerID, keepPaused)
}

// CommitAs freezes the VM's writable layer into the new immutable layer
// layerID and returns the VM's new layer stack (bottom..top). The VM then
// continues on a fresh writable layer over that stack.
//
// The writable layer moves in two renames: into the staging directory
// .commit-<layerID> (which already holds the layer's metadata), then the
// staging directory to layers/<layerID>. A crash between them leaves the
// data in one of those places, never nowhere; RecoverCommit decides.
//
// Memory is not snapshotted: CommitAs syncs the filesystem, stops every
// process of the VM, and starts the VM again with none running. With
// keepPaused the restarted VM is left paused.
func (m *Manager) CommitAs(ctx context.Context, id, layerID string, keepPaused bool) ([]string, error) {
	if !validID.MatchString(layerID) {
		return nil, fmt.Errorf("sandbox: invalid layer id %q", layerID)
	}
	defer m.lockID(id)()
	v, err := m.running(id)
	if err != nil {
		return nil, err
	}
	// A writable layer on a disk image becomes the layer as it is (the
	// image); one on the host filesystem is renamed into the layer.
	onDisk := fileExists(m.diskImage(id))
	if !onDisk {
		// sealDisk flushes a disk image from the host, after the stop.
		if err := v.call("sync"); err != nil {
			return nil, err
		}
	}
	m.mu.Lock()
	delete(m.vms, id)
	m.mu.Unlock()
	m.stopVM(v)
	// A failure before the layer exists leaves the writable layer where it
	// was: the VM runs again on its old stack instead of staying down while
	// the API still calls it running.
	restart := func(err error) ([]string, error) {
		if rerr := m.startLocked(ctx, id, v.stack, v.limits); rerr != nil {
			return nil, fmt.Errorf("%w (restarting the VM afterwards: %v)", err, rerr)
		}
		return nil, err
	}
	writable := filepath.Join(m.vmDir(id), "upper")
	if onDisk {
		if err := m.sealDisk(id); err != nil {
			return restart(err)
		}
		writable = m.diskImage(id)
	}
	parent := v.stack[len(v.stack)-1]
	if err := m.stageCommit(writable, layerID, parent); err != nil {
		return restart(err)
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

// stageCommit moves a VM's writable layer into the new layer layerID: an
// upper directory becomes its root/, a sealed disk image its root.img
// (mountLayers makes root/ its mount point).
func (m *Manager) stageCommit(writable, layerID, parent string) error {
	staging := m.commitStaging(layerID)
	if err := os.Mkdir(staging, 0o700); err != nil {
		return err
	}
	meta := layerMeta{ID: layerID, Parent: parent, Created: time.Now().UTC()}
	name := "root"
	if fi, err := os.Lstat(writable); err == nil && fi.Mode().IsRegular() {
		name = layerImageFile
		// sealDisk shifted it, and a read-only image could not be shifted later.
		meta.IDShift = hostIDBase
	}
	b, _ := json.Marshal(meta)
	if err := writeFileSync(filepath.Join(staging, layerMetaFile), b); err != nil {
		os.RemoveAll(staging)
		return err
	}
	if err := syncDir(m.layersDir); err != nil {
		os.RemoveAll(staging)
		return err
	}
	if err := os.Rename(writable, filepath.Join(staging, name)); err != nil {
		os.RemoveAll(staging)
		return err
	}
	if err := os.Rename(staging, m.layerDir(layerID)); err != nil {
		// Put the writable layer back so the VM's files are not lost.
		_ = os.Rename(filepath.Join(staging, name), writable)
		os.RemoveAll(staging)
		return err
	}
	return syncDir(m.layersDir)
}

// RecoverCommit settles a commit of VM vmID into layerID that a crash may
// have interrupted. It reports true when the layer was published (the commit
// happened and the caller records it), false when the writable layer is
// back in the VM (or never left it). Either way no staging is left behind.
func (m *Manager) RecoverCommit(vmID, layerID string) (bool, error) {
	if !validID.MatchString(vmID) || !validID.MatchString(layerID) {
		return false, fmt.Errorf("sandbox: invalid VM %q or layer %q", vmID, layerID)
	}
	defer m.lockID(vmID)()
	staging := m.commitStaging(layerID)
	if _, err := m.readLayer(layerID); err == nil {
		return true, os.RemoveAll(staging)
	}
	if img := filepath.Join(staging, layerImageFile); fileExists(img) {
		// It moved in only after layer.json was synced, and sealDisk had
		// made it durable: the VM's disk, whole. It becomes that again.
		if err := os.MkdirAll(m.vmDir(vmID), 0o700); err != nil {
			return false, err
		}
		if err := os.Rename(img, m.diskImage(vmID)); err != nil {
			return false, fmt.Errorf("sandbox: giving VM %s its disk image back: %w", vmID, err)
		}
		if err := syncDir(m.vmDir(vmID)); err != nil {
			return false, err
		}
		return false, os.RemoveAll(staging)
	}
	root := filepath.Join(staging, "root")
	if _, err := os.Lstat(root); errors.Is(err, fs.ErrNotExist) {
		// The crash came before any data moved (perhaps while layer.json
		// was half written): the VM still has its writable layer.
		return false, os.RemoveAll(staging)
	}
	// root/ moved in only after layer.json was synced, so it is whole.
	b, err := os.ReadFile(filepath.Join(staging, layerMetaFile))
	if err != nil {
		return false, err
	}
	var meta layerMeta
	if err := json.Unmarshal(b, &meta); err != nil {
		return false, fmt.Errorf("sandbox: staged layer %s metadata: %w", layerID, err)
	}
	writable := filepath.Join(m.vmDir(vmID), "upper")
	if meta.Flat {
		writable = filepath.Join(m.vmDir(vmID), "root")
	}
	if err := os.MkdirAll(m.vmDir(vmID), 0o700); err != nil {
		return false, err
	}
	if err := os.Rename(root, writable); err != nil {
		return false, fmt.Errorf("sandbox: giving VM %s its writable layer back: %w", vmID, err)
	}
	if err := syncDir(m.vmDir(vmID)); err != nil {
		return false, err
	}
	return false, os.RemoveAll(staging)
}
