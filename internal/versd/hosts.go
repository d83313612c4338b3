package versd

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// hostsFile keeps one marked block of a hosts file (normally /etc/hosts)
// mapping the API host and every live VM's <id>.<domain> to loopback, for
// clients such as the official CLI that derive host names and cannot be
// told an address. Lines outside the block are never touched.
type hostsFile struct {
	path  string
	begin string
	end   string

	mu     sync.Mutex
	static []string        // always present (the API host)
	vms    map[string]bool // live VM host names
}

func newHostsFile(path, vmDomain string, static ...string) *hostsFile {
	return &hostsFile{
		path:   path,
		begin:  "# BEGIN versd " + vmDomain + " (managed by versd --manage-hosts; do not edit)",
		end:    "# END versd " + vmDomain,
		static: static,
		vms:    map[string]bool{},
	}
}

// set adds or removes one VM's name and rewrites the file.
func (h *hostsFile) set(name string, present bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if present {
		h.vms[name] = true
	} else {
		delete(h.vms, name)
	}
	return h.writeLocked(true)
}

// reset replaces the VM names (at start) and rewrites the file.
func (h *hostsFile) reset(names []string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.vms = map[string]bool{}
	for _, n := range names {
		h.vms[n] = true
	}
	return h.writeLocked(true)
}

// remove takes the block out (at exit).
func (h *hostsFile) remove() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.writeLocked(false)
}

func (h *hostsFile) writeLocked(withBlock bool) error {
	old, err := os.ReadFile(h.path)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("reading %s: %w", h.path, err)
	}
	var out bytes.Buffer
	inBlock := false
	for _, line := range strings.SplitAfter(string(old), "\n") {
		trimmed := strings.TrimRight(line, "\r\n")
		switch {
		case trimmed == h.begin:
			inBlock = true
		case trimmed == h.end && inBlock:
			inBlock = false
		case !inBlock && line != "":
			out.WriteString(line)
		}
	}
	if withBlock {
		if out.Len() > 0 && !bytes.HasSuffix(out.Bytes(), []byte("\n")) {
			out.WriteByte('\n')
		}
		out.WriteString(h.begin + "\n")
		names := append(slices.Clone(h.static), slices.Sorted(maps.Keys(h.vms))...)
		for _, n := range names {
			fmt.Fprintf(&out, "127.0.0.1\t%s\n", n)
		}
		out.WriteString(h.end + "\n")
	}
	if bytes.Equal(out.Bytes(), old) {
		return nil
	}
	return writeFileAtomic(h.path, out.Bytes())
}

// writeFileAtomic replaces path by renaming a synced temporary file over
// it, so readers see the old or the new file, never a partial one. In a
// container /etc/hosts is a bind mount, which cannot be renamed over; then
// the file is rewritten in place (one write of the whole content).
func writeFileAtomic(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".versd-hosts-*")
	if err == nil {
		name := tmp.Name()
		_, werr := tmp.Write(data)
		if werr == nil {
			werr = tmp.Chmod(mode)
		}
		if werr == nil {
			werr = tmp.Sync()
		}
		cerr := tmp.Close()
		if werr == nil && cerr == nil && os.Rename(name, path) == nil {
			return nil
		}
		os.Remove(name)
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
