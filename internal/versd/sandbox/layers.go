package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// A layer lives in DataDir/layers/<id>: its tree in root/ (or in root.img,
// the ext4 disk image of the VM that wrote it, mounted read-only at root/)
// and its metadata in layer.json. Ids are 8 hex characters so that the
// overlay lowerdir option, which the kernel caps at one page, fits a deep
// stack ("<id>/root:" is 14 bytes; the agent mounts from inside the layers
// directory).
type layerMeta struct {
	ID     string `json:"id"`
	Parent string `json:"parent,omitempty"`
	Flat   bool   `json:"flat,omitempty"` // holds the whole tree: layers below it are ignored
	// IDShift is the host id of the VMs' root that the layer's files are
	// owned by (see shiftLayers); 0 for an unshifted layer.
	IDShift uint32    `json:"id_shift,omitempty"`
	Created time.Time `json:"created"`
}

const layerMetaFile = "layer.json"

// tmpPrefix marks half-built layers; New removes them (a crash mid-build).
const tmpPrefix = ".tmp-"

var validID = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$`)

func (m *Manager) layerDir(id string) string  { return filepath.Join(m.layersDir, id) }
func (m *Manager) layerRoot(id string) string { return filepath.Join(m.layersDir, id, "root") }

func (m *Manager) readLayer(id string) (layerMeta, error) {
	var meta layerMeta
	if !validID.MatchString(id) {
		return meta, fmt.Errorf("sandbox: invalid layer id %q: %w", id, ErrNotFound)
	}
	b, err := os.ReadFile(filepath.Join(m.layerDir(id), layerMetaFile))
	if errors.Is(err, fs.ErrNotExist) {
		return meta, fmt.Errorf("sandbox: layer %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return meta, err
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return meta, fmt.Errorf("sandbox: layer %s metadata: %w", id, err)
	}
	return meta, nil
}

// effectiveStack checks that every layer exists and drops the layers below
// the topmost flat one, which already contains everything beneath it.
func (m *Manager) effectiveStack(stack []string) ([]string, error) {
	if len(stack) == 0 {
		return nil, errors.New("sandbox: empty layer stack")
	}
	start := 0
	for i, id := range stack {
		meta, err := m.readLayer(id)
		if err != nil {
			return nil, err
		}
		if meta.Flat {
			start = i
		}
	}
	return slices.Clone(stack[start:]), nil
}

// newLayerDir creates an empty staging directory for a layer under layers/.
func (m *Manager) newLayerDir() (string, error) {
	return os.MkdirTemp(m.layersDir, tmpPrefix)
}

// publishLayer gives a staged layer (tmp holding root/) a fresh id: it writes
// the metadata and renames the directory into place, so a layer either exists
// whole or not at all.
func (m *Manager) publishLayer(tmp, parent string, flat bool) (string, error) {
	for range 16 {
		id := randomID()
		if _, err := os.Lstat(m.layerDir(id)); err == nil {
			continue
		}
		meta := layerMeta{ID: id, Parent: parent, Flat: flat, Created: time.Now().UTC()}
		b, _ := json.Marshal(meta)
		if err := writeFileSync(filepath.Join(tmp, layerMetaFile), b); err != nil {
			return "", err
		}
		if err := os.Rename(tmp, m.layerDir(id)); err != nil {
			return "", err
		}
		return id, syncDir(m.layersDir)
	}
	return "", errors.New("sandbox: could not pick an unused layer id")
}

// Layers lists the ids of the layers on disk, so versd can collect the ones
// no commit refers to any more.
func (m *Manager) Layers() ([]string, error) {
	entries, err := os.ReadDir(m.layersDir)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), tmpPrefix) {
			continue
		}
		if _, err := m.readLayer(e.Name()); err == nil {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

// DeleteLayers removes layers. It refuses the base layer and layers that a
// running VM stands on; unknown ids are ignored so that a retried GC pass
// succeeds.
func (m *Manager) DeleteLayers(ids ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range ids {
		if !validID.MatchString(id) {
			return fmt.Errorf("sandbox: invalid layer id %q", id)
		}
		if id == m.baseLayer {
			return fmt.Errorf("sandbox: layer %s is the base layer and cannot be deleted", id)
		}
		for _, vm := range m.vms {
			if slices.Contains(vm.stack, id) {
				return fmt.Errorf("sandbox: layer %s is in use by VM %s", id, vm.id)
			}
		}
	}
	for _, id := range ids {
		// An image-backed layer's mount goes first: removing through it
		// would fail on a read-only filesystem at best.
		unmountUnder(m.layerRoot(id))
		if isMountPoint(m.layerRoot(id)) {
			return fmt.Errorf("sandbox: layer %s: its image is still mounted", id)
		}
		// Rename first so a crash never leaves a half-deleted layer that
		// still looks valid.
		doomed := filepath.Join(m.layersDir, tmpPrefix+"deleted-"+id)
		if err := os.Rename(m.layerDir(id), doomed); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return err
		}
		if err := os.RemoveAll(doomed); err != nil {
			return err
		}
	}
	return nil
}

func randomID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
