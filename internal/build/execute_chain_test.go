package build

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vers-sh/terraform-provider-vers/internal/tfharness"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

const baseDockerfile = `FROM scratch
ENV STAGE=base
WORKDIR /app
RUN echo base > /base.txt
USER nobody
CMD ["sh"]
`

// buildBase builds a small scratch image and tags it base:v1.
func buildBase(t *testing.T, ts *testServer) *Result {
	t.Helper()
	ctx := context.Background()
	res, err := Execute(ctx, ts.client, prepare(t, t.TempDir(), baseDockerfile), Options{BuildID: "base"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.client.CreateRepository(ctx, vers.CreateRepositoryRequest{Name: "base"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.client.CreateRepoTag(ctx, "base", vers.CreateRepoTagRequest{TagName: "v1", CommitID: res.CommitID}); err != nil {
		t.Fatal(err)
	}
	return res
}

func TestExecute_fromRepoTagAndCommitID(t *testing.T) {
	ts := startServer(t)
	ctx := context.Background()
	base := buildBase(t, ts)

	// The child inherits the base image's ENV, WORKDIR and USER as Docker
	// does, and runs on the base commit's filesystem.
	child := "RUN id -un > /tmp/who; pwd > /tmp/where; echo $STAGE > /tmp/stage; cat /base.txt > /tmp/copied-base\n"
	for name, from := range map[string]string{"repo:tag": "base:v1", "commit id": base.CommitID} {
		t.Run(name, func(t *testing.T) {
			ts.srv.ResetStats()
			res, err := Execute(ctx, ts.client, prepare(t, t.TempDir(), "FROM "+from+"\n"+child), Options{BuildID: "child"})
			if err != nil {
				t.Fatal(err)
			}
			if res.BaseCommit != base.CommitID {
				t.Fatalf("base commit %s, want %s", res.BaseCommit, base.CommitID)
			}
			vm := tfharness.BootVM(t, ts.client, res.CommitID)
			got := execIn(t, ts.client, vm, "sh", "-c", "cat /tmp/who /tmp/where /tmp/stage /tmp/copied-base")
			if want := "nobody\n/app\nbase\nbase"; got != want {
				t.Fatalf("child saw %q, want %q", got, want)
			}
			if res.Image.User != "nobody" || res.Image.WorkingDir != "/app" || strings.Join(res.Image.Cmd, " ") != "sh" {
				t.Fatalf("child image %+v does not inherit the base's", res.Image)
			}
		})
	}
	// Both spellings resolve to the same commit, so the second one was a
	// cache hit that booted nothing.
	if ts.vmsBooted() != 1 { // the BootVM of the check
		t.Fatalf("the second spelling of the same base booted %d VMs, want only the check VM", ts.vmsBooted())
	}
}

func TestExecute_failingRunReportsLineExitCodeAndTail(t *testing.T) {
	ts := startServer(t)
	df := "FROM scratch\nRUN echo ok\nRUN for i in $(seq 1 80); do echo line$i; done; echo oops >&2; exit 3\nRUN echo never\n"
	_, err := Execute(context.Background(), ts.client, prepare(t, t.TempDir(), df), Options{})
	var se *StepError
	if !errors.As(err, &se) {
		t.Fatalf("want a StepError, got %v", err)
	}
	if se.Line != 3 || se.ExitCode != 3 {
		t.Fatalf("line %d exit %d, want 3 and 3", se.Line, se.ExitCode)
	}
	tail := strings.Split(se.OutputTail, "\n")
	if len(tail) != tailLines || tail[len(tail)-1] != "oops" || tail[0] != "line32" {
		t.Fatalf("tail has %d lines, first %q last %q:\n%s", len(tail), tail[0], tail[len(tail)-1], se.OutputTail)
	}
	if !strings.Contains(err.Error(), "Dockerfile:3: RUN for i in") || !strings.Contains(err.Error(), "exit code 3") {
		t.Fatalf("message %q", err)
	}
	if vms := ts.liveVMs(t); len(vms) != 0 {
		t.Fatalf("%d VMs left after a failed build", len(vms))
	}
}

func TestExecute_keepFailedBuilder(t *testing.T) {
	ts := startServer(t)
	_, err := Execute(context.Background(), ts.client, prepare(t, t.TempDir(), "FROM scratch\nRUN exit 1\n"), Options{KeepFailedBuilder: true})
	var se *StepError
	if !errors.As(err, &se) || se.BuilderVMID == "" {
		t.Fatalf("want a StepError naming the kept builder, got %v", err)
	}
	vms := ts.liveVMs(t)
	if len(vms) != 1 || vms[0].VMID != se.BuilderVMID {
		t.Fatalf("versd runs %v, want only the kept builder %s", vms, se.BuilderVMID)
	}
	_, _ = ts.client.DeleteVM(context.Background(), se.BuilderVMID)
}

func TestExecute_cancelMidRunDeletesBuilder(t *testing.T) {
	ts := startServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	progress := func(e Event) {
		if e.Status == "running" && strings.Contains(e.Instruction, "sleep") {
			ts.afterBoot(time.Second, cancel)
		}
	}
	done := make(chan error, 1)
	go func() {
		_, err := Execute(ctx, ts.client, prepare(t, t.TempDir(), "FROM scratch\nRUN sleep 30\n"), Options{Progress: progress})
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Execute did not return after its context was cancelled")
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if vms := ts.liveVMs(t); len(vms) != 0 {
		t.Fatalf("%d VMs left after cancellation", len(vms))
	}
}

func TestExecute_deletedCachedCommitIsAMiss(t *testing.T) {
	ts := startServer(t)
	ctx := context.Background()
	df := "FROM scratch\nRUN echo one > /one\nRUN echo two > /two\n"
	dir := t.TempDir()
	first, err := Execute(ctx, ts.client, prepare(t, dir, df), Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The last layer has no children, so Vers lets it go.
	if err := ts.client.DeleteCommit(ctx, first.CommitID); err != nil {
		t.Fatal(err)
	}
	ts.srv.ResetStats()
	again, err := Execute(ctx, ts.client, prepare(t, dir, df), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Layers[0].Cached || again.Layers[1].Cached || again.CommitID == first.CommitID || ts.vmsBooted() != 1 {
		t.Fatalf("layers %+v, booted %d", again.Layers, ts.vmsBooted())
	}
	if again.Layers[1].CacheKey != first.Layers[1].CacheKey {
		t.Fatal("the rebuilt layer has a different key")
	}
}
