package sandbox

import (
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// nsGetOwnerUID is NS_GET_OWNER_UID from linux/nsfs.h: the uid that owns a
// user namespace, as seen from the caller's.
const nsGetOwnerUID = 0xb704

// Each running VM's user namespace belongs to an owner uid of its own, not
// to host root, and a deleted VM's uid is free again.
func TestVMUserNamespaceOwners(t *testing.T) {
	m := newTestManager(t)
	owners := map[uint32]string{}
	for _, id := range []string{"own1", "own2"} {
		startVM(t, m, id)
		pid, err := m.initPID(id)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(fmt.Sprintf("/proc/%d/ns/user", pid))
		if err != nil {
			t.Fatal(err)
		}
		uid, err := unix.IoctlGetUint32(int(f.Fd()), nsGetOwnerUID)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if uid < ownerIDBase || uid >= ownerIDBase+ownerIDCount {
			t.Fatalf("VM %s's user namespace is owned by uid %d, want one in [%d, %d)", id, uid, ownerIDBase, ownerIDBase+ownerIDCount)
		}
		if other, ok := owners[uid]; ok {
			t.Fatalf("VMs %s and %s share owner uid %d", other, id, uid)
		}
		owners[uid] = id
	}
	for uid, id := range owners {
		if err := m.DeleteVM(id); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(fmt.Sprintf("%s/%d", ownersDir, uid))
		if err != nil {
			t.Fatal(err)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			t.Errorf("owner uid %d of deleted VM %s is still locked: %v", uid, id, err)
		}
		f.Close()
	}
}

// BenchmarkVMOwner is what the owned user namespace adds to every StartVM:
// an owner uid, the unshare holder and the id maps (compare BenchmarkStartVM).
func BenchmarkVMOwner(b *testing.B) {
	m := newTestManager(b)
	b.ResetTimer()
	for range b.N {
		o, err := m.newOwner()
		if err != nil {
			b.Fatal(err)
		}
		o.release()
	}
}
