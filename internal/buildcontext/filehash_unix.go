//go:build linux || darwin

package buildcontext

import (
	"context"
	"crypto/sha256"
	"fmt"
	"syscall"
)

// hashFileContent returns SHA-256 of the regular file at abs and the number
// of bytes hashed, reading through buf.
//
// It uses raw system calls because os.Open costs an extra poller
// registration per file, and per-file overhead dominates trees of many
// small files. The file is opened with O_NOFOLLOW (a path that turned into a
// symlink since the walk is refused, never followed) and O_NONBLOCK (a path
// that turned into a FIFO cannot hang us); fstat then insists on a regular
// file.
func hashFileContent(ctx context.Context, abs string, buf []byte) (sum [32]byte, size int64, err error) {
	var fd int
	for {
		fd, err = syscall.Open(abs, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		if err == syscall.ELOOP {
			return sum, 0, fmt.Errorf("became a symlink while hashing")
		}
		return sum, 0, err
	}
	defer syscall.Close(fd)

	var st syscall.Stat_t
	if err := retryEINTR(func() error { return syscall.Fstat(fd, &st) }); err != nil {
		return sum, 0, err
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return sum, 0, fmt.Errorf("is no longer a regular file")
	}

	// Small-file fast path: the whole file fits the buffer, so read the size
	// fstat reported (usually one read call) and hash the slice in one go.
	if st.Size < int64(len(buf)) {
		n, err := readFull(fd, buf[:st.Size])
		if err != nil {
			return sum, 0, err
		}
		return sha256.Sum256(buf[:n]), int64(n), nil
	}

	h := sha256.New()
	for {
		if err := ctx.Err(); err != nil {
			return sum, 0, err
		}
		n, err := readFull(fd, buf)
		if err != nil {
			return sum, 0, err
		}
		h.Write(buf[:n])
		size += int64(n)
		if n < len(buf) {
			break
		}
	}
	h.Sum(sum[:0])
	return sum, size, nil
}

// readFull reads until buf is full or the file ends.
func readFull(fd int, buf []byte) (int, error) {
	total := 0
	for total < len(buf) {
		n, err := syscall.Read(fd, buf[total:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return total, err
		}
		if n == 0 {
			break
		}
		total += n
	}
	return total, nil
}

func retryEINTR(f func() error) error {
	for {
		if err := f(); err != syscall.EINTR {
			return err
		}
	}
}
