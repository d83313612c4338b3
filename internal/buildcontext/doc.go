// Package buildcontext reads a Docker build context the way Docker (BuildKit)
// does, and hashes it so that `vers_build` can decide at plan time whether a
// build must be replaced.
//
// # What is kept
//
// Open picks one ignore file: `<Dockerfile>.dockerignore` next to the
// Dockerfile when it exists (BuildKit's per-Dockerfile ignore file), otherwise
// `<context>/.dockerignore`. It is parsed with moby's ignorefile reader and
// matched with moby's patternmatcher, walking the tree exactly like BuildKit's
// context transfer (fsutil): each path is matched with the parent directory's
// match results, an excluded directory is pruned (never read) unless an `!`
// exception could re-include something beneath it, and an excluded directory
// that ends up holding a kept entry is itself kept so the entry has a parent.
// The Dockerfile and the ignore file obey the patterns like any other file:
// when they are ignored they are not in the kept set (COPY cannot see them).
// Hash never sees the Dockerfile's bytes, only the canonical records the
// caller derives from it, so a comment-only edit of an ignored (or inline)
// Dockerfile keeps the hash; a kept Dockerfile is a context file that
// `COPY . .` would copy, so its bytes count like any other file's.
//
// Symlinks are recorded as links (their target text) and never followed by
// the walk or the hash. Sockets, devices and named pipes are skipped without
// error (they cannot be uploaded into a VM and Docker images rarely want
// them); Context.Skipped lists them so a caller can warn.
//
// # Context hash (compatibility contract, "vers-context-v2")
//
// Changing anything below changes every stored context_hash and therefore
// plans a replacement of every vers_build: bump the version tag if you must.
//
// Notation: u8(x) is one byte; u64(x) is 8 bytes big-endian; str(b) is
// u64(len(b)) followed by the bytes of b. The hash is
//
//	"sha256:" + hex(SHA-256(
//	    str("vers-context-v2")
//	    u64(number of Records)   then str(record) for each, in the given order
//	    u64(number of entries)   then entry(e) for each kept entry, sorted by
//	                             the bytes of its relative path
//	))
//
//	entry(e) = u8(type) str(rel) u8(exec) u64(size) payload
//	  type    'd' directory, 'f' regular file, 'l' symlink
//	  rel     slash-separated path relative to the context root
//	  exec    1 when a regular file has the owner-execute bit (0100), else 0
//	  size    a regular file's content length, 0 otherwise
//	  payload regular file: the 32 raw bytes of SHA-256(content)
//	          symlink:      str(link target text)
//	          directory:    nothing
//
// Nothing else is hashed: no mtimes, owners, group/other permission bits or
// xattrs. Two clones made with umask 022 and 002 agree, `touch` changes
// nothing, `chmod +x` changes the hash. Directories are entries so that adding
// an empty directory (which COPY would create) changes the hash.
//
// # Step hash ("vers-copy-v1")
//
// StepHash covers exactly what one COPY/ADD reads (see Resolve):
//
//	SHA-256(
//	    str("vers-copy-v1")
//	    u64(number of sources)
//	    for each source in the order written:
//	        str(cleaned source)  u64(number of matches)
//	        for each match: str(entry rel) str(target rel) u8(target type)
//	                        u64(number of files) entry(f) for each file
//	)
//
// Source order is part of the hash because a later source overwrites an
// earlier one with the same destination name.
//
// # Performance
//
// File contents are hashed by a process-wide pool bounded by GOMAXPROCS and
// shared by concurrent callers; the fold into the final digest stays in
// sorted order. Files are streamed through pooled 256 KiB buffers (one read
// for small files, never a whole large file in memory), and cancellation is
// checked between files and between chunks of a large file. A Context caches
// its walk and the file digests it computed: open a new Context to see later
// changes on disk.
package buildcontext
