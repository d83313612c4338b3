package sandbox

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// shiftLayers gives every layer of a stack the VM's host ids, once per
// layer: files owned by id n < hostIDSize become owned by hostIDBase+n, so
// the VM's root sees them as its own and host root's files never appear in a
// VM. Layers made from a VM's writable layer are already shifted (the VM
// wrote them); base layers and layers from before user namespaces are not.
// The walk is idempotent (shifted ids are left alone), so a crash halfway
// only repeats it.
func (m *Manager) shiftLayers(stack []string) error {
	m.shiftMu.Lock()
	defer m.shiftMu.Unlock()
	for _, id := range stack {
		meta, err := m.readLayer(id)
		if err != nil {
			return err
		}
		if meta.IDShift == hostIDBase {
			continue
		}
		if err := shiftTree(m.layerRoot(id)); err != nil {
			return err
		}
		meta.IDShift = hostIDBase
		b, _ := json.Marshal(meta)
		path := filepath.Join(m.layerDir(id), layerMetaFile)
		if err := writeFileSync(path+".tmp", b); err != nil {
			return err
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			return err
		}
	}
	return nil
}

// shiftTree moves ownership of a tree into the VMs' id range.
func shiftTree(root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(path, &st); err != nil {
			return err
		}
		uid, gid := shiftID(st.Uid), shiftID(st.Gid)
		if uid == st.Uid && gid == st.Gid {
			return nil
		}
		if err := unix.Lchown(path, int(uid), int(gid)); err != nil {
			return err
		}
		// chown clears set-id bits of files; put them back.
		if st.Mode&unix.S_IFMT == unix.S_IFREG && st.Mode&(unix.S_ISUID|unix.S_ISGID) != 0 {
			return unix.Chmod(path, st.Mode&0o7777)
		}
		return nil
	})
}

func shiftID(id uint32) uint32 {
	switch {
	case id >= hostIDBase:
		return id
	case id < hostIDSize:
		return hostIDBase + id
	default:
		return hostIDBase + 65534 // no id in the VM: nobody
	}
}
