// Package sandbox runs versd's "VMs": sandboxed process trees on layered root
// filesystems. It is Linux-only, needs root (CAP_SYS_ADMIN), and uses no cgo.
//
// # VMs
//
// A VM is an agent process: the running binary re-executed through
// /proc/self/exe with an environment marker. The package's init function
// recognises the marker and turns the process into the agent before main (or a
// test binary's test main) runs, so any binary that imports this package can
// host VMs; nothing has to be registered. The agent is created in fresh mount,
// PID, UTS, IPC and network namespaces. As PID 1 of its namespace it mounts the
// VM's root filesystem, /proc and a minimal /dev, sets the hostname to the VM
// id, brings the loopback interface up, pivots into the root (detaching the
// host's tree), and then serves requests (exec, sync, pause, resume) on a
// socket pair shared with the Manager. Commands run as root but without
// CAP_SYS_ADMIN, CAP_MKNOD and the other capabilities Docker also withholds,
// and /proc/sys is read-only, so a VM cannot remount its way out. All
// mounts live in the agent's mount namespace and disappear with it, so nothing
// leaks onto the host. When the agent dies the kernel kills every process of
// the VM.
//
// # Layers
//
// Root filesystems are stacks of immutable layers under DataDir/layers/<id>/root
// plus one writable layer per VM under DataDir/vms/<id>. With overlayfs (probed
// once in New) the stack is the overlay's lowerdir and the writable layer its
// upperdir; Commit freezes the upperdir by renaming it into a new layer, so
// overlay whiteouts and opaque-directory xattrs carry over unchanged. Without
// overlayfs the writable layer is a full copy of the merged stack and a commit
// produces a "flat" layer that contains the whole tree.
//
// # What is not like a Firecracker VM
//
// Memory is not snapshotted: a commit keeps the filesystem only. Commit stops
// every process of the VM and starts it again on a fresh writable layer, and a
// VM restored or branched from a commit starts with no processes. Files opened
// through RootDir must be closed before Commit, because the writable layer is
// renamed underneath them.
package sandbox
