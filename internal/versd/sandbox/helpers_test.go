package sandbox

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func newTestManager(t testing.TB) *Manager {
	t.Helper()
	return newTestManagerAt(t, t.TempDir())
}

func newTestManagerAt(t testing.TB, dir string) *Manager {
	t.Helper()
	m, err := New(Options{DataDir: dir, Logf: t.Logf})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func startVM(t testing.TB, m *Manager, id string, layers ...string) {
	t.Helper()
	if len(layers) == 0 {
		layers = []string{m.BaseLayer()}
	}
	if err := m.StartVM(context.Background(), id, layers); err != nil {
		t.Fatalf("StartVM %s: %v", id, err)
	}
}

type execResult struct {
	stdout, stderr string
	code           int
}

// sh runs a shell script in the VM and fails the test on transport errors.
func sh(t testing.TB, m *Manager, id, script string) execResult {
	t.Helper()
	return run(t, m, id, ExecSpec{Command: []string{"/bin/sh", "-c", script}}, "")
}

func run(t testing.TB, m *Manager, id string, spec ExecSpec, stdin string) execResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	var in *strings.Reader
	if stdin != "" {
		in = strings.NewReader(stdin)
	}
	var code int
	var err error
	if in != nil {
		code, err = m.Exec(ctx, id, spec, in, &out, &errOut)
	} else {
		code, err = m.Exec(ctx, id, spec, nil, &out, &errOut)
	}
	if err != nil {
		t.Fatalf("Exec %v in %s: %v (stderr %q)", spec.Command, id, err, errOut.String())
	}
	return execResult{out.String(), errOut.String(), code}
}

// mustSucceed runs a script that must exit 0 and returns its stdout.
func mustSucceed(t testing.TB, m *Manager, id, script string) string {
	t.Helper()
	r := sh(t, m, id, script)
	if r.code != 0 {
		t.Fatalf("%q in %s exited %d; stderr: %s", script, id, r.code, r.stderr)
	}
	return r.stdout
}
