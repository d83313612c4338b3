package sandbox

import (
	"os"
	"path/filepath"
	"testing"
)

// RecoverCommit settles each point a crash can interrupt CommitAs at.
func TestRecoverCommitAtEachCrashPoint(t *testing.T) {
	m := newTestManager(t)
	vmUpper := filepath.Join(m.vmDir("v"), "upper")
	reset := func() {
		t.Helper()
		os.RemoveAll(m.vmDir("v"))
		if err := os.MkdirAll(vmUpper, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(vmUpper, "acked"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	id, err := m.NewLayerID()
	if err != nil {
		t.Fatal(err)
	}
	staging := m.commitStaging(id)

	// Killed while layer.json was being written: nothing moved.
	reset()
	if err := os.Mkdir(staging, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(staging, layerMetaFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if published, err := m.RecoverCommit("v", id); err != nil || published {
		t.Fatalf("half-written metadata: published=%v err=%v", published, err)
	}
	assertFile(t, filepath.Join(vmUpper, "acked"))
	assertGone(t, staging)

	// Killed between the two renames: the data goes back to the VM.
	reset()
	if err := m.stageCommit(vmUpper, id, m.BaseLayer(), false); err != nil {
		t.Fatal(err)
	}
	// stageCommit finished both renames; undo the second to model the crash.
	if err := os.Rename(m.layerDir(id), staging); err != nil {
		t.Fatal(err)
	}
	if published, err := m.RecoverCommit("v", id); err != nil || published {
		t.Fatalf("staged: published=%v err=%v", published, err)
	}
	assertFile(t, filepath.Join(vmUpper, "acked"))
	assertGone(t, staging)

	// Killed after the layer was published: the commit is to be finished.
	reset()
	if err := m.stageCommit(vmUpper, id, m.BaseLayer(), false); err != nil {
		t.Fatal(err)
	}
	if published, err := m.RecoverCommit("v", id); err != nil || !published {
		t.Fatalf("published: published=%v err=%v", published, err)
	}
	assertFile(t, filepath.Join(m.layerRoot(id), "acked"))
}

func assertFile(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("acknowledged data missing: %v", err)
	}
}

func assertGone(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Lstat(p); !os.IsNotExist(err) {
		t.Fatalf("%s is left behind (%v)", p, err)
	}
}
