package versd

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"strings"
)

// maxSymlinkHops matches Linux's limit on symlinks followed in one lookup.
const maxSymlinkHops = 40

// errTooManyLinks reports a symlink loop.
var errTooManyLinks = errors.New("too many levels of symbolic links")

// statInVM stats p as a process inside the VM would see it: symlinks are
// followed, absolute targets start again at the VM's root, and ".." never
// climbs above it. os.Root alone refuses absolute symlinks (common in
// distribution images, e.g. /var/run -> /run), so the walk is done here,
// one component at a time through os.Root, which still keeps every access
// inside the VM.
func statInVM(root *os.Root, p string) (fs.FileInfo, error) {
	pending := splitPath(p)
	cur := "." // resolved so far, relative to the root, free of symlinks
	hops := 0
	for len(pending) > 0 {
		c := pending[0]
		pending = pending[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur) // path.Dir(".") is "."
			continue
		}
		next := path.Join(cur, c)
		fi, err := root.Lstat(next)
		if err != nil {
			return nil, err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if hops++; hops > maxSymlinkHops {
			return nil, errTooManyLinks
		}
		target, err := root.Readlink(next)
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(target, "/") {
			cur = "."
		}
		pending = append(splitPath(target), pending...)
	}
	return root.Lstat(cur)
}

func splitPath(p string) []string {
	return strings.Split(strings.Trim(p, "/"), "/")
}
