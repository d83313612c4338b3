package sandbox

import (
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// busyboxPath is where Debian's busybox-static package installs the binary.
const busyboxPath = "/bin/busybox"

// bashStaticPath is Debian's bash-static. Real Vers images have bash, and the
// official CLI runs commands as `bash -c`, so the base root has /bin/bash.
const bashStaticPath = "/bin/bash-static"

// baseRecord (DataDir/base.json) remembers which layer holds the base root
// filesystem and where it came from, so the base layer id survives restarts
// and a different --base-rootfs gets a layer of its own.
type baseRecord struct {
	Layer  string `json:"layer"`
	Source string `json:"source"`
}

func (m *Manager) ensureBaseLayer(baseRootfs string) error {
	// The name changes when the built root does, so a data directory gets
	// a new base layer instead of keeping an older one.
	source := "busybox+bash"
	if baseRootfs != "" {
		abs, err := filepath.Abs(baseRootfs)
		if err != nil {
			return err
		}
		st, err := os.Stat(abs)
		if err != nil {
			return fmt.Errorf("base root filesystem %s: %w", abs, err)
		}
		source = "dir:" + abs
		if st.Mode().IsRegular() {
			source = "tar:" + abs
		}
	}
	recordPath := filepath.Join(m.dataDir, "base.json")
	if b, err := os.ReadFile(recordPath); err == nil {
		var rec baseRecord
		if json.Unmarshal(b, &rec) == nil && rec.Source == source {
			if _, err := m.readLayer(rec.Layer); err == nil {
				m.baseLayer = rec.Layer
				return nil
			}
		}
	}

	tmp, err := m.newLayerDir()
	if err != nil {
		return err
	}
	root := filepath.Join(tmp, "root")
	switch {
	case strings.HasPrefix(source, "tar:"):
		err = importTarball(strings.TrimPrefix(source, "tar:"), root)
	case strings.HasPrefix(source, "dir:"):
		err = importRootfs(strings.TrimPrefix(source, "dir:"), root)
	default:
		err = buildBusyboxRoot(root)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return err
	}
	id, err := m.publishLayer(tmp, "", true)
	if err != nil {
		os.RemoveAll(tmp)
		return err
	}
	b, _ := json.Marshal(baseRecord{Layer: id, Source: source})
	if err := writeFileSync(recordPath+".tmp", b); err != nil {
		return err
	}
	if err := os.Rename(recordPath+".tmp", recordPath); err != nil {
		return err
	}
	m.baseLayer = id
	m.logf("sandbox: built base layer %s from %s", id, source)
	return nil
}

func importRootfs(src, dst string) error {
	info, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("sandbox: base root filesystem: %w", err)
	}
	if !info.IsDir() {
		return fmt.Errorf("sandbox: base root filesystem %s is not a directory", src)
	}
	if err := copyTree(src, dst); err != nil {
		return fmt.Errorf("sandbox: importing base root filesystem %s: %w", src, err)
	}
	return nil
}

// buildBusyboxRoot assembles a minimal Linux root: the static busybox binary,
// a symlink for every applet where `busybox --list-full` says it belongs, and
// the few files programs expect (users, groups, shells, hosts).
func buildBusyboxRoot(root string) error {
	if err := checkStaticBusybox(); err != nil {
		return err
	}
	dirs := []struct {
		path string
		mode fs.FileMode
	}{
		{"", 0o755}, {"bin", 0o755}, {"sbin", 0o755}, {"usr", 0o755}, {"usr/bin", 0o755},
		{"usr/sbin", 0o755}, {"usr/local", 0o755}, {"usr/local/bin", 0o755}, {"etc", 0o755},
		{"root", 0o700}, {"home", 0o755}, {"tmp", 0o777 | fs.ModeSticky}, {"var", 0o755}, {"var/tmp", 0o777 | fs.ModeSticky},
		{"var/log", 0o755}, {"run", 0o755}, {"dev", 0o755}, {"proc", 0o555}, {"sys", 0o555},
		{"mnt", 0o755}, {"opt", 0o755}, {"srv", 0o755},
	}
	for _, d := range dirs {
		p := filepath.Join(root, d.path)
		if err := os.MkdirAll(p, 0o755); err != nil {
			return err
		}
		// Chmod, not Mkdir's mode: the umask would strip bits. Go spells
		// the sticky bit fs.ModeSticky; a numeric 0o1000 is silently dropped.
		if err := os.Chmod(p, d.mode); err != nil {
			return err
		}
	}
	if err := copyFileData(busyboxPath, filepath.Join(root, "bin/busybox")); err != nil {
		return err
	}
	if err := os.Chmod(filepath.Join(root, "bin/busybox"), 0o755); err != nil {
		return err
	}
	if _, err := os.Stat(bashStaticPath); err != nil {
		return fmt.Errorf("sandbox: %s not found: the default base root filesystem needs it; run `apt-get install bash-static` (make deps does)", bashStaticPath)
	}
	if err := copyFileData(bashStaticPath, filepath.Join(root, "bin/bash")); err != nil {
		return err
	}
	if err := os.Chmod(filepath.Join(root, "bin/bash"), 0o755); err != nil {
		return err
	}
	out, err := exec.Command(busyboxPath, "--list-full").Output()
	if err != nil {
		return fmt.Errorf("sandbox: listing busybox applets: %w", err)
	}
	for _, applet := range strings.Fields(string(out)) {
		applet = filepath.Clean(strings.TrimPrefix(applet, "/"))
		if applet == "bin/busybox" || strings.HasPrefix(applet, "..") {
			continue
		}
		p := filepath.Join(root, applet)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.Symlink("/bin/busybox", p); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	files := []struct {
		path, content string
		mode          fs.FileMode
	}{
		{"etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n", 0o644},
		{"etc/group", "root:x:0:\nnogroup:x:65534:\n", 0o644},
		{"etc/shadow", "root:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n", 0o640},
		{"etc/shells", "/bin/sh\n/bin/ash\n/bin/bash\n", 0o644},
		{"etc/hostname", "vers\n", 0o644},
		{"etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost\n", 0o644},
		{"etc/os-release", "NAME=\"versd busybox\"\nID=busybox\nPRETTY_NAME=\"versd busybox root filesystem\"\n", 0o644},
	}
	for _, f := range files {
		p := filepath.Join(root, f.path)
		if err := os.WriteFile(p, []byte(f.content), f.mode); err != nil {
			return err
		}
		if err := os.Chmod(p, f.mode); err != nil {
			return err
		}
	}
	return nil
}

// checkStaticBusybox fails early with the fix when busybox is missing or is
// the dynamically linked build, which would not run inside a bare chroot.
func checkStaticBusybox() error {
	f, err := elf.Open(busyboxPath)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("sandbox: %s not found: the default base root filesystem needs it; run `apt-get install busybox-static` or pass a base root filesystem directory", busyboxPath)
	}
	if err != nil {
		return fmt.Errorf("sandbox: reading %s: %w", busyboxPath, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("sandbox: %s is dynamically linked and cannot run inside a VM; run `apt-get install busybox-static`", busyboxPath)
		}
	}
	return nil
}
