package sshgw

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/pkg/sftp"
)

// BenchmarkSFTPUpload64MiB measures SFTP upload throughput through TLS and
// SSH over loopback into the VM's root directory, with the SFTP packet size
// OpenSSH uses (32 KiB) and with a larger one a Go client may choose.
func BenchmarkSFTPUpload64MiB(b *testing.B) {
	const size = 64 << 20
	data := make([]byte, size)
	if _, err := rand.Read(data); err != nil {
		b.Fatal(err)
	}
	for _, packet := range []struct {
		name  string
		bytes int
	}{{"packet=32KiB", 32 << 10}, {"packet=128KiB", 128 << 10}} {
		b.Run(packet.name, func(b *testing.B) {
			vm := newTestVM(b, vmA, b.TempDir())
			c := startGateway(b, vm).mustSFTP(b, vm,
				sftp.UseConcurrentWrites(true), sftp.MaxPacketUnchecked(packet.bytes))
			b.SetBytes(size)
			for b.Loop() {
				f, err := c.Create("/upload.bin")
				if err != nil {
					b.Fatal(err)
				}
				n, err := f.ReadFrom(bytes.NewReader(data))
				if err != nil || n != size {
					b.Fatalf("upload: %d bytes, %v", n, err)
				}
				if err := f.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
