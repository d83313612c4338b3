package versd

import (
	"context"
	"io"
	"net"

	"github.com/vers-sh/terraform-provider-vers/internal/versd/sshgw"
)

// vmRuntime is what the HTTP layer needs from the sandbox. The real
// implementation is sandboxRuntime (sandbox_runtime.go), a thin adapter over
// *sandbox.Manager; keeping the handlers on this interface keeps them
// readable and lets the error mapping live in one place.
type vmRuntime interface {
	BaseLayer() string
	StartVM(ctx context.Context, id string, layers []string, limits vmLimits) error
	// NewLayerID picks the id of a layer CommitAs will create, so that the
	// intent naming it is recorded before any data moves.
	NewLayerID() (string, error)
	// CommitAs freezes the VM's writable layer into layer layerID and
	// returns the new immutable stack; the VM keeps running on a fresh
	// writable layer above it.
	CommitAs(ctx context.Context, id, layerID string, keepPaused bool) ([]string, error)
	// RecoverCommit settles an interrupted CommitAs: true when the layer
	// exists (finish the commit), false when the VM has its data back.
	RecoverCommit(vmID, layerID string) (bool, error)
	Pause(id string) error
	Resume(id string) error
	DeleteVM(id string) error
	// VMs lists the VMs that have a sandbox on disk, running or not.
	VMs() ([]string, error)
	Layers() ([]string, error)
	DeleteLayers(ids ...string) error
	Exec(ctx context.Context, id string, spec execSpec, stdin io.Reader, stdout, stderr io.Writer) (sshgw.ExitStatus, error)
	// SFTP opens an SFTP server that runs inside the VM with the VM's own
	// privileges; versd never touches VM files itself.
	SFTP(ctx context.Context, id string) (io.ReadWriteCloser, error)
	// Dead reports whether the VM's init exited on its own.
	Dead(id string) bool
	// Dial connects to host:port from inside the VM's network namespace.
	Dial(ctx context.Context, id, host string, port int) (net.Conn, error)
	Close() error
}

// execSpec mirrors sandbox.ExecSpec.
type execSpec struct {
	Command     []string
	Env         map[string]string
	WorkingDir  string
	TimeoutSecs int64
	// TTY runs the command on a terminal inside the VM (SSH sessions).
	TTY *ttySpec
	// Control delivers resizes and signals while it runs; may be nil.
	Control <-chan sshgw.Control
}

// ttySpec is the terminal an SSH session asked for.
type ttySpec struct {
	Term       string
	Rows, Cols uint16
}

// vmLimits are the resources of a VM from its vm_config.
type vmLimits struct {
	MemMiB, VCPUs, FsMiB int64
}

// Errors the runtime reports, mapped by the adapter from the sandbox's own.
type runtimeError int

const (
	errVMNotFound runtimeError = iota + 1
	errVMPaused
	errVMNotRunning
	errVMDead
)

func (e runtimeError) Error() string {
	switch e {
	case errVMNotFound:
		return "VM not found"
	case errVMPaused:
		return "VM is paused"
	case errVMDead:
		return "VM is dead"
	default:
		return "VM is not running"
	}
}
