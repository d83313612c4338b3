//go:build !(linux || darwin)

package buildcontext

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
)

// hashFileContent returns SHA-256 of the regular file at abs and the number
// of bytes hashed, reading through buf. Portable version: the Linux/macOS
// one avoids os.File overhead and refuses symlinks at open time.
func hashFileContent(ctx context.Context, abs string, buf []byte) (sum [32]byte, size int64, err error) {
	f, err := os.Open(abs)
	if err != nil {
		return sum, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return sum, 0, err
	}
	if !st.Mode().IsRegular() {
		return sum, 0, fmt.Errorf("is no longer a regular file")
	}
	if st.Size() < int64(len(buf)) {
		n, err := io.ReadFull(f, buf[:st.Size()])
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return sum, 0, err
		}
		return sha256.Sum256(buf[:n]), int64(n), nil
	}
	h := sha256.New()
	for {
		if err := ctx.Err(); err != nil {
			return sum, 0, err
		}
		n, err := io.ReadFull(f, buf)
		h.Write(buf[:n])
		size += int64(n)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return sum, 0, err
		}
	}
	h.Sum(sum[:0])
	return sum, size, nil
}
