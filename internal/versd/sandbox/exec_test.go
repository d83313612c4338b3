package sandbox

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestExecEnvWorkingDirAndStdin(t *testing.T) {
	m := newTestManager(t)
	startVM(t, m, "vm1")
	r := run(t, m, "vm1", ExecSpec{
		Command:    []string{"sh", "-c", `echo "$GREETING" "$(pwd)" "$HOME"; cat; echo err >&2`},
		Env:        map[string]string{"GREETING": "hello world"},
		WorkingDir: "/tmp",
	}, "from stdin\n")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if want := "hello world /tmp /root\nfrom stdin\n"; r.stdout != want {
		t.Errorf("stdout = %q, want %q", r.stdout, want)
	}
	if r.stderr != "err\n" {
		t.Errorf("stderr = %q, want %q", r.stderr, "err\n")
	}
}

func TestExecExitCodes(t *testing.T) {
	m := newTestManager(t)
	startVM(t, m, "codes")
	cases := []struct {
		name       string
		spec       ExecSpec
		code       int
		stderrPart string
	}{
		{"exit status", ExecSpec{Command: []string{"sh", "-c", "exit 3"}}, 3, ""},
		{"missing command", ExecSpec{Command: []string{"no-such-command"}}, ExitNotFound, "not found"},
		{"missing working dir", ExecSpec{Command: []string{"true"}, WorkingDir: "/nope"}, ExitCannotExecute, "/nope"},
		{"not executable", ExecSpec{Command: []string{"/etc/passwd"}}, ExitCannotExecute, "permission denied"},
		{"killed by signal", ExecSpec{Command: []string{"sh", "-c", "kill -9 $$"}}, 128 + 9, ""},
		{"timeout", ExecSpec{Command: []string{"sleep", "30"}, TimeoutSecs: 1}, ExitTimeout, "timed out"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, m, "codes", c.spec, "")
			if r.code != c.code {
				t.Errorf("exit code = %d, want %d (stderr %q)", r.code, c.code, r.stderr)
			}
			if !strings.Contains(r.stderr, c.stderrPart) {
				t.Errorf("stderr %q does not mention %q", r.stderr, c.stderrPart)
			}
		})
	}
}

func TestExecCancelKillsProcess(t *testing.T) {
	m := newTestManager(t)
	startVM(t, m, "cancel")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := m.Exec(ctx, "cancel", ExecSpec{Command: []string{"sh", "-c", "touch /started; sleep 60"}}, nil, nil, nil)
		done <- err
	}()
	waitFor(t, func() bool { return sh(t, m, "cancel", "test -e /started").code == 0 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Exec after cancel: err = %v, want context.Canceled", err)
	}
	waitFor(t, func() bool { return sh(t, m, "cancel", "pidof sleep").code != 0 })
}

func TestExecOnMissingVM(t *testing.T) {
	m := newTestManager(t)
	_, err := m.Exec(context.Background(), "ghost", ExecSpec{Command: []string{"true"}}, nil, nil, nil)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}

func TestLargeOutputStreams(t *testing.T) {
	m := newTestManager(t)
	startVM(t, m, "big")
	var out bytes.Buffer
	code, err := m.Exec(context.Background(), "big", ExecSpec{Command: []string{"sh", "-c", "head -c 3000000 /dev/zero"}}, nil, &out, nil)
	if err != nil || code != 0 {
		t.Fatalf("exit %d, err %v", code, err)
	}
	if out.Len() != 3000000 {
		t.Fatalf("got %d bytes of stdout, want 3000000", out.Len())
	}
}

func TestSuToNobody(t *testing.T) {
	m := newTestManager(t)
	startVM(t, m, "su")
	out := mustSucceed(t, m, "su", "su -p nobody -s /bin/sh -c id")
	if !strings.Contains(out, "uid=65534(nobody)") {
		t.Fatalf("su -p nobody printed %q", out)
	}
	// A user added the way a Dockerfile on a minimal image does it
	// (Debian's busybox-static has no adduser).
	out = mustSucceed(t, m, "su", `echo 'alice:x:1000:1000::/home/alice:/bin/sh' >> /etc/passwd &&
		echo 'alice:x:1000:' >> /etc/group && su -p alice -c 'id -un; echo $HOME'`)
	if out != "alice\n/root\n" {
		t.Fatalf("new user alice: %q", out)
	}
}

// waitFor polls cond until it holds (no timing is asserted; the deadline
// only keeps a broken test from hanging).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
