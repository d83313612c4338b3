// Package sshgw is versd's SSH-over-TLS gateway.
//
// The real Vers service lets a client reach a VM's SSH server by opening TLS
// to <vm_id>.<vm_domain>:443 with that name as SNI and speaking SSH inside the
// TLS stream, as root, with the VM's private key from GET /vm/{id}/ssh_key.
// This package reproduces that on loopback: it terminates TLS with a
// certificate from versd's own CA (so clients keep verification on), takes the
// VM id from the first label of the SNI name, and serves an SSH server whose
// only user is root authenticated by exactly that VM's key.
//
// Inside SSH it offers "session" channels that run "exec" requests through the
// VM's Exec function and forward the "sftp" subsystem to an SFTP server that
// runs inside the VM (VMTarget.SFTP), so SFTP has exactly the rights of the
// VM's root user and no host process ever walks the VM's files.
// Interactive shells and PTYs are refused: versd VMs are driven by exec and
// SFTP only.
package sshgw
