// Package sandbox runs versd's "VMs": runc containers on layered root
// filesystems. It is Linux-only, needs root, and drives Debian's runc with
// runtime-spec bundles (config.json built from the specs-go types).
//
// # VMs
//
// A VM is `runc run` of a bundle under /run/versd/<key>/vms/<id>, whose
// rootfs is an overlay of the VM's layer stack. Every VM gets user (VM root is
// host id 1048576; the namespace is owned by a host uid of the VM's own, see
// newOwner), PID, network, IPC, UTS, mount and cgroup namespaces;
// Docker's default capabilities, seccomp profile (moby/profiles/seccomp) and
// masked /proc paths; and cgroup limits from Limits (memory without extra
// swap, a CFS quota for vCPUs, a pids limit). With Limits.FsMiB the writable
// layer lives on a sparse ext4 image of that size.
//
// The VM's init is the agent: this binary, bind-mounted read-only from a
// private tmpfs at /dev/.versd and recognised by its environment marker in
// the package's init function (before main or a test main runs), so any
// binary that imports the package can serve VMs. It is non-dumpable, handles
// the signals that would end it, and serves requests (exec, sftp, sync) on
// a control socket passed through runc --preserve-fds, one socket pair per
// request. SFTP is served by a separate process inside the VM, so file access
// through versd has exactly the VM root's rights. When the agent exits on its
// own the VM is dead (State reports it, Exec returns ErrDead); when versd
// closes the control socket the agent kills the VM and exits.
//
// # Layers
//
// Root filesystems are stacks of immutable layers under DataDir/layers/<id>/root
// plus one writable layer per VM under DataDir/vms/<id> (or on its disk
// image). Layer files are owned by the VMs' host ids, shifted once per layer
// (shiftLayers). Commit freezes the upper directory into a new layer, so
// overlay whiteouts and opaque-directory xattrs carry over unchanged; a VM
// with a disk image hands over the whole image, which is mounted read-only
// as the layer (no copy). New VM disks are sparse copies of one mkfs'd
// template per size.
//
// # What is not like a Firecracker VM
//
// Memory is not snapshotted: a commit keeps the filesystem only. Commit stops
// every process of the VM and starts it again on a fresh writable layer, and a
// VM restored or branched from a commit starts with no processes.
package sandbox
