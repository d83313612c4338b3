package sshgw

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

const (
	vmA = "0b6f4c1e-2a3d-4e5f-8a9b-0c1d2e3f4a5b"
	vmB = "7c8d9e0f-1a2b-4c3d-9e4f-5a6b7c8d9e0f"
)

func TestExecReturnsOutputAndExitStatus(t *testing.T) {
	vm := newTestVM(t, vmA, t.TempDir())
	client := startGateway(t, vm).mustDial(t, vm)

	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	sess.Stdin = strings.NewReader("from stdin")
	sess.Stdout, sess.Stderr = &stdout, &stderr
	err = sess.Run("fail")
	var exitErr *ssh.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitStatus() != 7 {
		t.Fatalf("Run(fail) = %v, want exit status 7", err)
	}
	if got, want := stdout.String(), "out:fail\nfrom stdin"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	if got, want := stderr.String(), "err:fail"; got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}

	sess, err = client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := sess.Output("echo ok")
	if err != nil {
		t.Fatalf("Run(echo ok): %v", err)
	}
	if got, want := string(out), "out:echo ok\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
}

// A command killed by a signal is reported as RFC 4254 §6.10 exit-signal,
// not as a status: the client can tell kill -9 from exit 137.
func TestExecKilledBySignalSendsExitSignal(t *testing.T) {
	vm := newTestVM(t, vmA, t.TempDir())
	client := startGateway(t, vm).mustDial(t, vm)
	sess := mustSession(t, client)
	err := sess.Run("killed")
	var exitErr *ssh.ExitError
	if !errors.As(err, &exitErr) {
		t.Fatalf("Run(killed) = %v, want an exit error", err)
	}
	if exitErr.Signal() != "KILL" {
		t.Fatalf("Run(killed): signal %q (status %d), want exit-signal KILL", exitErr.Signal(), exitErr.ExitStatus())
	}
}

func TestExecFailureReportsStatus255(t *testing.T) {
	vm := newTestVM(t, vmA, t.TempDir())
	client := startGateway(t, vm).mustDial(t, vm)
	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	sess.Stderr = &stderr
	err = sess.Run("broken")
	var exitErr *ssh.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitStatus() != 255 {
		t.Fatalf("Run(broken) = %v, want exit status 255", err)
	}
	if !strings.Contains(stderr.String(), "sandbox unavailable") {
		t.Errorf("stderr = %q, want the Exec error", stderr.String())
	}
}

func TestEnvReachesTheProcess(t *testing.T) {
	vm := newTestVM(t, vmA, t.TempDir())
	client := startGateway(t, vm).mustDial(t, vm)
	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Setenv("GREETING", "it's here"); err != nil {
		t.Fatalf("Setenv: %v", err)
	}
	if err := sess.Setenv("bad name", "x"); err == nil {
		t.Error("Setenv with an invalid name was accepted")
	}
	out, err := sess.Output("run")
	if err != nil {
		t.Fatal(err)
	}
	want := "env:GREETING=it's here\nout:run\n"
	if string(out) != want {
		t.Errorf("command seen by Exec = %q, want %q", out, want)
	}
}

func TestUnknownRequestsRefused(t *testing.T) {
	vm := newTestVM(t, vmA, t.TempDir())
	client := startGateway(t, vm).mustDial(t, vm)
	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if err := sess.RequestSubsystem("netconf"); err == nil {
		t.Error("unknown subsystem was accepted")
	}
	if ok, _ := sess.SendRequest("window-change", true, ssh.Marshal(windowChange{Cols: 100, Rows: 40})); ok {
		t.Error("window-change without a pty-req was accepted")
	}
	if ok, err := sess.SendRequest("x11-req", true, nil); ok || err != nil {
		t.Errorf("x11-req = %v, %v; want refused", ok, err)
	}
	// The channel still works for an exec after the refusals.
	out, err := sess.Output("after")
	if err != nil || string(out) != "out:after\n" {
		t.Errorf("exec after refusals = %q, %v", out, err)
	}
}

func TestOtherChannelTypesRejected(t *testing.T) {
	vm := newTestVM(t, vmA, t.TempDir())
	client := startGateway(t, vm).mustDial(t, vm)
	// The test VM has no Dial, so direct-tcpip is refused like the others.
	for _, kind := range []string{"direct-tcpip", "x11", "auth-agent@openssh.com"} {
		_, _, err := client.OpenChannel(kind, nil)
		var openErr *ssh.OpenChannelError
		if !errors.As(err, &openErr) || openErr.Reason != ssh.UnknownChannelType {
			t.Errorf("OpenChannel(%s) = %v, want UnknownChannelType rejection", kind, err)
		}
	}
}

func TestGlobalRequests(t *testing.T) {
	vm := newTestVM(t, vmA, t.TempDir())
	client := startGateway(t, vm).mustDial(t, vm)
	ok, _, err := client.SendRequest("keepalive@openssh.com", true, nil)
	if err != nil || !ok {
		t.Errorf("keepalive = %v, %v; want answered true", ok, err)
	}
	ok, _, err = client.SendRequest("tcpip-forward", true, ssh.Marshal(struct {
		Addr string
		Port uint32
	}{"127.0.0.1", 0}))
	if err != nil || ok {
		t.Errorf("tcpip-forward = %v, %v; want refused", ok, err)
	}
}

func TestWrongKeyAndUserRejected(t *testing.T) {
	vm := newTestVM(t, vmA, t.TempDir())
	tg := startGateway(t, vm)
	otherPEM, _, err := NewVMKey()
	if err != nil {
		t.Fatal(err)
	}
	if c, err := tg.dialSSH(vmA+"."+testDomain, "root", otherPEM); err == nil {
		c.Close()
		t.Error("a foreign key opened the VM")
	}
	if c, err := tg.dialSSH(vmA+"."+testDomain, "admin", vm.privatePEM); err == nil {
		c.Close()
		t.Error("the VM key opened the VM as a user other than root")
	}
	// Password auth is not offered at all.
	tlsConn, err := tg.dialTLS(vmA + "." + testDomain)
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, err = ssh.NewClientConn(tlsConn, vmA, &ssh.ClientConfig{
		User:            "root",
		Auth:            []ssh.AuthMethod{ssh.Password("root")},
		HostKeyCallback: ssh.FixedHostKey(tg.hostKey),
	})
	if err == nil {
		t.Error("password authentication succeeded")
	}
}

func TestKeyOfOneVMDoesNotOpenAnother(t *testing.T) {
	a := newTestVM(t, vmA, t.TempDir())
	b := newTestVM(t, vmB, t.TempDir())
	tg := startGateway(t, a, b)
	if c, err := tg.dialSSH(vmB+"."+testDomain, "root", a.privatePEM); err == nil {
		c.Close()
		t.Fatal("VM A's key opened VM B")
	}
	// Each key still opens its own VM, and the SNI picks which VM runs.
	for _, vm := range []*testVM{a, b} {
		out, err := mustSession(t, tg.mustDial(t, vm)).Output("whoami")
		if err != nil || string(out) != "out:whoami\n" {
			t.Errorf("VM %s exec = %q, %v", vm.id, out, err)
		}
	}
}

func TestMissingSNIRejected(t *testing.T) {
	vm := newTestVM(t, vmA, t.TempDir())
	tg := startGateway(t, vm)
	// Go clients send no SNI for an IP address; the certificate still
	// verifies for 127.0.0.1, so only the missing name is at fault.
	tlsConn, err := tg.dialTLS("127.0.0.1")
	if err != nil {
		t.Fatalf("TLS to 127.0.0.1: %v", err)
	}
	defer tlsConn.Close()
	if n, err := tlsConn.Read(make([]byte, 64)); err != io.EOF {
		t.Errorf("read after no-SNI handshake = %d, %v; want clean EOF", n, err)
	}
	if got := tg.lookedUp(); len(got) != 0 {
		t.Errorf("Lookup called for %v without SNI", got)
	}
}

func TestUnknownVMRejected(t *testing.T) {
	vm := newTestVM(t, vmA, t.TempDir())
	tg := startGateway(t, vm)
	if c, err := tg.dialSSH("nosuchvm."+testDomain, "root", vm.privatePEM); err == nil {
		c.Close()
		t.Fatal("connection to an unknown VM succeeded")
	}
	if got := tg.lookedUp(); !slices.Equal(got, []string{"nosuchvm"}) {
		t.Errorf("Lookup calls = %v, want [nosuchvm]", got)
	}
}

func TestCertificateNameChecked(t *testing.T) {
	vm := newTestVM(t, vmA, t.TempDir())
	tg := startGateway(t, vm)
	if _, err := tg.dialTLS(vmA + ".other.test"); err == nil {
		t.Error("TLS verified for a name outside the VM domain")
	}
}

func TestCloseEndsLiveConnectionsAndServe(t *testing.T) {
	vm := newTestVM(t, vmA, t.TempDir())
	tg := startGateway(t, vm)
	client := tg.mustDial(t, vm)
	if err := tg.gw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-tg.serveErr; err != nil {
		t.Errorf("Serve returned %v after Close, want nil", err)
	}
	tg.serveErr <- nil // for the cleanup's check
	client.Wait()      // returns only once the gateway has dropped the connection
	if _, err := client.NewSession(); err == nil {
		t.Error("a session opened after Close")
	}
	if _, err := tg.dialTLS(vmA + "." + testDomain); err == nil {
		t.Error("a new connection was accepted after Close")
	}
}

func mustSession(t *testing.T, c *ssh.Client) *ssh.Session {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A command still running when the client hangs up, or when the gateway
// closes, sees its context cancelled; Close waits for it to return.
func TestRunningExecCancelled(t *testing.T) {
	started := make(chan struct{}, 2)
	ended := make(chan error, 2)
	vm := newTestVM(t, vmA, t.TempDir())
	vm.target.Exec = func(ctx context.Context, _ *Process) (ExitStatus, error) {
		started <- struct{}{}
		<-ctx.Done()
		ended <- ctx.Err()
		return ExitStatus{}, ctx.Err()
	}
	tg := startGateway(t, vm)

	// Client closes the session while the command runs.
	sess := mustSession(t, tg.mustDial(t, vm))
	if err := sess.Start("sleep forever"); err != nil {
		t.Fatal(err)
	}
	<-started
	sess.Close()
	if err := <-ended; !errors.Is(err, context.Canceled) {
		t.Errorf("after client hang-up Exec saw %v, want context.Canceled", err)
	}

	// Gateway closes while the command runs.
	sess = mustSession(t, tg.mustDial(t, vm))
	if err := sess.Start("sleep forever"); err != nil {
		t.Fatal(err)
	}
	<-started
	if err := tg.gw.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ended:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("after Close Exec saw %v, want context.Canceled", err)
		}
	default:
		t.Error("Close returned while Exec was still running")
	}
}

// Only <vm_id>.<domain> opens a VM: another domain (or extra labels) is
// refused before SSH, even for a client that skips certificate checks.
func TestSNIOutsideDomainRefused(t *testing.T) {
	vm := newTestVM(t, vmA, "")
	tg := startGateway(t, vm)
	for _, name := range []string{vmA + ".evil.test", vmA + ".x." + testDomain, vmA} {
		tlsConn, err := tls.Dial("tcp", tg.addr, &tls.Config{ServerName: name, InsecureSkipVerify: true})
		if err != nil {
			t.Fatalf("TLS with SNI %s: %v", name, err)
		}
		_ = tlsConn.SetDeadline(time.Now().Add(10 * time.Second))
		if n, err := tlsConn.Read(make([]byte, 64)); err != io.EOF {
			t.Errorf("SNI %s: read = %d, %v; want EOF before any SSH banner", name, n, err)
		}
		tlsConn.Close()
	}
	if got := tg.lookedUp(); len(got) != 0 {
		t.Errorf("Lookup called for %v", got)
	}
}
