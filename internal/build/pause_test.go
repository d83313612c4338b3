package build

import (
	"context"
	"testing"

	"github.com/vers-sh/terraform-provider-vers/internal/tfharness"
	"github.com/vers-sh/terraform-provider-vers/internal/versd"
)

// TestExecute_resumesAVMItsCommitPaused runs against a versd whose commits
// leave the VM paused (as the Vers docs describe committing): every step
// after a commit, RUN and COPY alike, must find the VM paused, resume it
// and succeed.
func TestExecute_resumesAVMItsCommitPaused(t *testing.T) {
	ts := startServer(t, func(o *versd.Options) { o.PauseOnCommit = true })
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"f.txt": "f\n", "g.txt": "g\n"})
	df := `FROM scratch
RUN echo a > /a
COPY f.txt /f.txt
RUN cat /a /f.txt > /both
COPY g.txt /g.txt
`
	var log progressLog
	res, err := Execute(context.Background(), ts.client, prepare(t, dir, df), Options{BuildID: "paused", Progress: log.add})
	if err != nil {
		t.Fatal(err)
	}
	if !log.contains("left paused by its commit; resuming it") {
		t.Fatal("the log does not say the builder was resumed; did versd pause it?")
	}
	vm := tfharness.BootVM(t, ts.client, res.CommitID)
	if got := execIn(t, ts.client, vm, "cat", "/both", "/g.txt"); got != "a\nf\ng" {
		t.Fatalf("the image holds %q", got)
	}
	if n := len(ts.liveVMs(t)); n != 1 { // the one BootVM started
		t.Fatalf("%d VMs live, want only the test's own", n)
	}
}
