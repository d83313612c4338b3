package sshgw

import (
	"context"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// The gateway forwards the sftp subsystem to the VM's own SFTP server.
func TestSFTPIsForwardedToTheVM(t *testing.T) {
	vm := newTestVM(t, vmA, "")
	c := startGateway(t, vm).mustSFTP(t, vm)
	f, err := c.Create("/note")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	f.Close()
	g, err := c.Open("/note")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(g)
	if err != nil || string(b) != "hello" {
		t.Fatalf("read back %q, %v", b, err)
	}
	if _, err := c.Stat("/missing"); !os.IsNotExist(err) {
		t.Fatalf("Stat of a missing file: %v, want not-exist", err)
	}
}

// When the VM's SFTP server goes away (its agent exited), the client's
// session ends instead of hanging on a dead VM.
func TestSFTPSessionEndsWhenTheVMServerGoes(t *testing.T) {
	vm := newTestVM(t, vmA, "")
	backends := make(chan net.Conn, 1)
	vm.target.SFTP = func(ctx context.Context) (io.ReadWriteCloser, error) {
		rw, err := inMemorySFTP(ctx)
		backends <- rw.(net.Conn)
		return rw, err
	}
	c := startGateway(t, vm).mustSFTP(t, vm)
	if _, err := c.Getwd(); err != nil {
		t.Fatal(err)
	}
	(<-backends).Close() // the VM side of the stream is gone
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the SFTP session survived its VM server")
	}
}
