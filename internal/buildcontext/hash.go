package buildcontext

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
)

// Version tags open every hash stream; see doc.go for the formats.
const (
	contextHashVersion = "vers-context-v2"
	stepHashVersion    = "vers-copy-v1"
)

// HashSpec is what a context hash covers besides the kept files.
type HashSpec struct {
	// Records are the canonical inputs chosen by the caller (the parsed
	// Dockerfile's records, effective build args, vm_config), hashed in
	// this order. The Dockerfile's raw bytes are not an input: a comment or
	// spacing edit must not plan a replacement.
	Records []string
}

// Hash returns the context hash ("sha256:<hex>") defined in doc.go.
func (c *Context) Hash(ctx context.Context, spec HashSpec) (string, error) {
	entries, err := c.walk(ctx)
	if err != nil {
		return "", err
	}
	all := make([]int, len(entries))
	for i := range all {
		all[i] = i
	}
	digests, err := c.fileDigests(ctx, entries, all)
	if err != nil {
		return "", err
	}
	e := newEncoder(contextHashVersion)
	e.u64(uint64(len(spec.Records)))
	for _, r := range spec.Records {
		e.str(r)
	}
	e.u64(uint64(len(entries)))
	for i := range entries {
		e.entry(&entries[i], digests[i])
	}
	return e.result(), nil
}

// HashDir opens the context at dir and hashes it.
func HashDir(ctx context.Context, dir, dockerfilePath string, spec HashSpec) (string, error) {
	c, err := Open(dir, dockerfilePath)
	if err != nil {
		return "", err
	}
	return c.Hash(ctx, spec)
}

// fileDigests returns the digest of entries[i] for each i in idx (zero for
// non-regular entries), computing only those not cached yet.
func (c *Context) fileDigests(ctx context.Context, entries []File, idx []int) ([]fileDigest, error) {
	out := make([]fileDigest, len(idx))
	var missing []int // positions in idx
	c.digestMu.Lock()
	for k, i := range idx {
		if entries[i].Type != Regular {
			continue
		}
		if c.digests != nil && c.hasDigest[i] {
			out[k] = c.digests[i]
		} else {
			missing = append(missing, k)
		}
	}
	c.digestMu.Unlock()
	if len(missing) == 0 {
		return out, nil
	}

	todo := make([]int, len(missing))
	for j, k := range missing {
		todo[j] = idx[k]
	}
	computed, err := hashFiles(ctx, entries, todo)
	if err != nil {
		return nil, err
	}
	c.digestMu.Lock()
	if c.digests == nil {
		c.digests = make([]fileDigest, len(entries))
		c.hasDigest = make([]bool, len(entries))
	}
	for j, k := range missing {
		out[k] = computed[j]
		c.digests[todo[j]] = computed[j]
		c.hasDigest[todo[j]] = true
	}
	c.digestMu.Unlock()
	return out, nil
}

// encoder writes the length-framed stream of doc.go into SHA-256.
type encoder struct {
	h   hash.Hash
	buf [9]byte
}

func newEncoder(version string) *encoder {
	e := &encoder{h: sha256.New()}
	e.str(version)
	return e
}

func (e *encoder) u8(b byte) {
	e.buf[0] = b
	e.h.Write(e.buf[:1])
}

func (e *encoder) u64(v uint64) {
	binary.BigEndian.PutUint64(e.buf[:8], v)
	e.h.Write(e.buf[:8])
}

func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	// hash.Hash from crypto/sha256 also implements io.StringWriter, which
	// avoids copying s.
	if sw, ok := e.h.(interface{ WriteString(string) (int, error) }); ok {
		sw.WriteString(s)
		return
	}
	e.h.Write([]byte(s))
}

// entry writes one kept entry; d is its content digest when regular.
func (e *encoder) entry(f *File, d fileDigest) {
	e.u8(f.Type.hashTag())
	e.str(f.Rel)
	var exec byte
	if f.Type == Regular && f.Executable {
		exec = 1
	}
	e.u8(exec)
	switch f.Type {
	case Regular:
		e.u64(uint64(d.size))
		e.h.Write(d.sum[:])
	case Symlink:
		e.u64(0)
		e.str(f.LinkTarget)
	default:
		e.u64(0)
	}
}

func (e *encoder) result() string {
	var sum [sha256.Size]byte
	return "sha256:" + hex.EncodeToString(e.h.Sum(sum[:0]))
}
