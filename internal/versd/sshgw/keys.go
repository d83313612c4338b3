package sshgw

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"encoding/pem"
	"fmt"

	"golang.org/x/crypto/ssh"
)

// NewVMKey generates a VM's SSH key pair: an ed25519 key whose private half is
// encoded as OpenSSH PEM ("OPENSSH PRIVATE KEY"), the form GET /vm/{id}/ssh_key
// returns, and whose public half is what VMTarget.AuthorizedKey expects.
func NewVMKey() (privatePEM []byte, pub ssh.PublicKey, err error) {
	edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("sshgw: generate VM key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(edPriv, "")
	if err != nil {
		return nil, nil, fmt.Errorf("sshgw: encode VM key: %w", err)
	}
	pub, err = ssh.NewPublicKey(edPub)
	if err != nil {
		return nil, nil, fmt.Errorf("sshgw: encode VM public key: %w", err)
	}
	return pem.EncodeToMemory(block), pub, nil
}

// newHostKey generates the gateway's ed25519 SSH host key when none is given.
func newHostKey() (ssh.Signer, error) {
	_, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("sshgw: generate host key: %w", err)
	}
	signer, err := ssh.NewSignerFromKey(edPriv)
	if err != nil {
		return nil, fmt.Errorf("sshgw: host key signer: %w", err)
	}
	return signer, nil
}

// sameKey compares two public keys by their wire encoding in constant time.
func sameKey(a, b ssh.PublicKey) bool {
	if a == nil || b == nil {
		return false
	}
	return subtle.ConstantTimeCompare(a.Marshal(), b.Marshal()) == 1
}
