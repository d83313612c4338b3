package sshgw

import (
	"testing"
	"time"
)

// DisconnectVM ends that VM's sessions and leaves other VMs' alone.
func TestDisconnectVM(t *testing.T) {
	a := newTestVM(t, "vma", t.TempDir())
	b := newTestVM(t, "vmb", t.TempDir())
	tg := startGateway(t, a, b)
	ca, cb := tg.mustDial(t, a), tg.mustDial(t, b)
	defer cb.Close()

	if n := tg.gw.DisconnectVM("vma"); n != 1 {
		t.Fatalf("DisconnectVM closed %d connections, want 1", n)
	}
	done := make(chan error, 1)
	go func() { done <- ca.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the client of vma is still connected after DisconnectVM")
	}
	s, err := cb.NewSession()
	if err != nil {
		t.Fatalf("vmb lost its connection: %v", err)
	}
	s.Close()
	if n := tg.gw.DisconnectVM("vma"); n != 0 {
		t.Fatalf("second DisconnectVM closed %d connections, want 0", n)
	}
	var nilGateway *Gateway
	if nilGateway.DisconnectVM("x") != 0 {
		t.Fatal("a nil gateway has nothing to disconnect")
	}
}
