package build

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/vers-sh/terraform-provider-vers/internal/tfharness"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// A RUN layer is one exec and one commit: the WORKDIR and the page-cache
// flush travel in the RUN's own exec. Each removed request is a round trip
// on a far link (BENCHMARKS.md, issue 13).
func TestExecute_runLayerIsOneExecAndACommit(t *testing.T) {
	ts := startServer(t)
	dir := t.TempDir()
	// The first layer boots the builder; the counted ones follow it.
	df := "FROM scratch\nRUN mkdir /base\nWORKDIR /new/dir\nRUN pwd > here\nUSER nobody\nWORKDIR /tmp/nob\nRUN touch mine\n"
	prep := prepare(t, dir, df)
	var perLayer map[string]int
	progress := func(e Event) {
		if e.Status == "done" && e.Step == 1 {
			ts.srv.ResetStats()
		}
		if e.Status == "done" && e.Step == 3 {
			perLayer = ts.srv.Stats().Requests
		}
	}
	res, err := Execute(context.Background(), ts.client, prep, Options{BuildID: "run-rt", Progress: progress})
	if err != nil {
		t.Fatal(err)
	}
	// The sweep of abandoned builders runs beside the first boot and may
	// still be listing VMs on a loaded machine: not a RUN's request.
	delete(perLayer, "GET /api/v1/vms")
	want := map[string]int{"POST /api/v1/vm/{id}/exec/stream": 2, "POST /api/v1/vm/{id}/commit": 2}
	if len(perLayer) != len(want) {
		t.Errorf("requests for two RUN layers: %v, want exactly %v", perLayer, want)
	}
	for route, n := range want {
		if perLayer[route] != n {
			t.Errorf("requests for two RUN layers: %v, want exactly %v", perLayer, want)
			break
		}
	}
	vm := tfharness.BootVM(t, ts.client, res.CommitID)
	if got := execIn(t, ts.client, vm, "cat", "/new/dir/here"); got != "/new/dir" {
		t.Errorf("RUN ran in %q, want the WORKDIR /new/dir", got)
	}
	if got := execIn(t, ts.client, vm, "stat", "-c", "%U", "/tmp/nob", "/tmp/nob/mine"); got != "nobody\nnobody" {
		t.Errorf("owners of the USER's WORKDIR and its file: %q", got)
	}
}

// The wrapper that creates the WORKDIR and flushes the page cache must be
// invisible to the command: exec form runs the program itself (no shell
// builtin), sees exactly the step's environment, and its exit code is the
// step's.
func TestExecute_runWrapperIsInvisible(t *testing.T) {
	ts := startServer(t)
	dir := t.TempDir()
	run := func(df string) *StepError {
		t.Helper()
		_, err := Execute(context.Background(), ts.client, prepare(t, dir, df), Options{BuildID: "wrap"})
		var se *StepError
		if !errors.As(err, &se) {
			t.Fatalf("%q: want a StepError, got %v", df, err)
		}
		return se
	}

	t.Run("exec form sees exactly the step's environment and keeps its exit code", func(t *testing.T) {
		se := run("FROM scratch\nENV KEEP=1\nWORKDIR /w\n" + `RUN ["awk", "BEGIN { for (k in ENVIRON) print \"env:\" k; exit 3 }"]` + "\n")
		if se.ExitCode != 3 {
			t.Errorf("exit code %d, want 3", se.ExitCode)
		}
		var names []string
		for _, line := range strings.Split(se.OutputTail, "\n") {
			if name, ok := strings.CutPrefix(line, "env:"); ok {
				names = append(names, name)
			}
		}
		slices.Sort(names)
		got := strings.Join(names, " ")
		if got != "HOME HOSTNAME KEEP PATH" {
			t.Errorf("the command's environment: %s, want HOME HOSTNAME KEEP PATH (output: %s)", got, se.OutputTail)
		}
	})

	t.Run("PWD set by ENV survives the WORKDIR change", func(t *testing.T) {
		se := run("FROM scratch\nENV PWD=/elsewhere\nWORKDIR /w2\n" + `RUN ["awk", "BEGIN { print \"pwd:\" ENVIRON[\"PWD\"]; exit 4 }"]` + "\n")
		if se.ExitCode != 4 || !strings.Contains(se.OutputTail, "pwd:/elsewhere") {
			t.Errorf("exit %d, output %q; want 4 and pwd:/elsewhere", se.ExitCode, se.OutputTail)
		}
	})

	t.Run("an ENV PATH without the system directories still gets its WORKDIR", func(t *testing.T) {
		if se := run("FROM scratch\nENV PATH=/nowhere\nWORKDIR /wp/sub\n" + `RUN ["/bin/sh", "-c", "exit 5"]` + "\n"); se.ExitCode != 5 {
			t.Errorf("exit code %d, want the command's 5 (output %q)", se.ExitCode, se.OutputTail)
		}
	})

	t.Run("exec form never runs a shell builtin", func(t *testing.T) {
		// cd exists only as a builtin; the exec API answers 127 for it, as
		// Docker does for a program that is not there.
		if se := run("FROM scratch\nWORKDIR /w3\n" + `RUN ["cd", "/"]` + "\n"); se.ExitCode != 127 {
			t.Errorf("exit code %d, want 127 (not found)", se.ExitCode)
		}
	})

	t.Run("shell form exit codes pass through", func(t *testing.T) {
		if se := run("FROM scratch\nWORKDIR /w4\nRUN exit 42\n"); se.ExitCode != 42 {
			t.Errorf("exit code %d, want 42", se.ExitCode)
		}
	})

	t.Run("a WORKDIR that cannot be created says so", func(t *testing.T) {
		se := run("FROM scratch\nRUN touch /file\nWORKDIR /file/sub\nRUN true\n")
		if !strings.Contains(se.OutputTail, "creating WORKDIR /file/sub failed") || se.Line != 4 {
			t.Errorf("line %d, output %q", se.Line, se.OutputTail)
		}
	})
}

// A RUN killed by a signal names the signal and its usual cause; the exec
// API reports it as 128+n, and the build says so rather than leaving a bare
// 137.
func TestExecute_runKilledBySignalSaysSo(t *testing.T) {
	ts := startServer(t)
	_, err := Execute(context.Background(), ts.client, prepare(t, t.TempDir(), "FROM scratch\nWORKDIR /w\nRUN echo before; kill -KILL $$\n"), Options{BuildID: "sig"})
	var se *StepError
	if !errors.As(err, &se) || se.ExitCode != 137 || se.Line != 3 {
		t.Fatalf("want a StepError at line 3 with exit code 137, got %v", err)
	}
	for _, want := range []string{"Dockerfile:3: RUN echo before; kill -KILL $$ failed with exit code 137", "signal KILL", "out of memory?", "before"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// Over SSH (COPY, RUN mounts) a killed command comes back as exit-signal,
// and the client names the signal and its usual cause.
func TestSSHRunReportsKillSignal(t *testing.T) {
	ts := startServer(t)
	ctx := context.Background()
	vm, err := ts.client.CreateVMNewRoot(ctx, vers.NewRootRequest{VMConfig: vers.VMConfig{}}, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = ts.client.DeleteVM(context.Background(), vm.VMID) })
	conn, err := ts.client.DialSSH(ctx, vm.VMID)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = conn.Run(ctx, "kill -KILL $$", strings.NewReader(""), io.Discard, io.Discard)
	var sig *vers.SignalError
	if !errors.As(err, &sig) || sig.Signal != "KILL" || !strings.Contains(err.Error(), "killed by signal KILL (out of memory?") {
		t.Fatalf("kill -KILL $$ over SSH: %v", err)
	}
	if code, err := conn.Run(ctx, "exit 137", strings.NewReader(""), io.Discard, io.Discard); err != nil || code != 137 {
		t.Fatalf("exit 137 over SSH: %d, %v; want status 137 and no error", code, err)
	}
}
