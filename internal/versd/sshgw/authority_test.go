package sshgw

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestServerCertificateVerifiesAgainstCertPEM(t *testing.T) {
	ca, err := LoadOrCreateAuthority(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ServerCertificate("vm.test")
	if err != nil {
		t.Fatal(err)
	}
	// Trust built from the PEM bytes, as a client that saved the file would.
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca.CertPEM()) {
		t.Fatal("CertPEM does not parse")
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	verify := func(name string) error {
		_, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: pool})
		return err
	}
	for _, ok := range []string{vmA + ".vm.test", "vm.test", "localhost", "127.0.0.1", "::1"} {
		if err := verify(ok); err != nil {
			t.Errorf("verify %s: %v", ok, err)
		}
	}
	for _, bad := range []string{vmA + ".other.test", "a.b.vm.test", "vm.test.evil", "10.0.0.1"} {
		if err := verify(bad); err == nil {
			t.Errorf("verify %s succeeded, want failure", bad)
		}
	}
	// A different CA does not vouch for it.
	other, err := LoadOrCreateAuthority(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: vmA + ".vm.test", Roots: other.CertPool()}); err == nil {
		t.Error("leaf verified against an unrelated CA")
	}
	if _, err := ca.ServerCertificate(""); err == nil {
		t.Error("empty VM domain accepted")
	}
}

func TestAuthorityReloadedFromDisk(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	first, err := LoadOrCreateAuthority(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "ca-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("ca-key.pem mode = %o, want 600", mode)
	}
	second, err := LoadOrCreateAuthority(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.CertPEM(), second.CertPEM()) {
		t.Fatal("reloaded authority has a different CA certificate")
	}
	// A leaf from the reloaded CA verifies against the first one's pool.
	cert, err := second.ServerCertificate("vm.test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{DNSName: "x.vm.test", Roots: first.CertPool()}); err != nil {
		t.Errorf("leaf from reloaded CA: %v", err)
	}
}

func TestAuthorityRejectsMismatchedKey(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadOrCreateAuthority(dir); err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := os.WriteFile(filepath.Join(dir, "ca-key.pem"), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateAuthority(dir); err == nil {
		t.Fatal("a CA whose key does not match its certificate was loaded")
	}
	if err := os.Remove(filepath.Join(dir, "ca-key.pem")); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateAuthority(dir); err == nil {
		t.Fatal("a CA certificate without its key was loaded or silently replaced")
	}
}

func TestNewVMKeyIsOpenSSHEd25519(t *testing.T) {
	privatePEM, pub, err := NewVMKey()
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(privatePEM)
	if block == nil || block.Type != "OPENSSH PRIVATE KEY" {
		t.Fatalf("PEM block type = %v, want OPENSSH PRIVATE KEY", block)
	}
	signer, err := ssh.ParsePrivateKey(privatePEM)
	if err != nil {
		t.Fatal(err)
	}
	if pub.Type() != ssh.KeyAlgoED25519 {
		t.Errorf("key type = %s, want ed25519", pub.Type())
	}
	if !sameKey(signer.PublicKey(), pub) {
		t.Error("public key does not match the private key")
	}
	_, pub2, err := NewVMKey()
	if err != nil {
		t.Fatal(err)
	}
	if sameKey(pub, pub2) {
		t.Error("two calls returned the same key")
	}
}
