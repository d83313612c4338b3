package versd

import (
	"strings"
	"testing"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// The shapes the official CLI sends (`vers env list/set/delete`), and
// malformed requests answered 400.
func TestEnvVarsAPI(t *testing.T) {
	logs := &logBuffer{}
	s := startTest(t, "", func(o *Options) { o.Logf = logs.logf })
	c := newClient(t, s)
	var got vers.EnvVarsResponse
	c.must(200, "GET", "/api/v1/env_vars", nil, &got)
	if got.Vars == nil || len(got.Vars) != 0 {
		t.Fatalf("empty list = %+v, want {\"vars\":{}}", got)
	}
	c.must(200, "PUT", "/api/v1/env_vars", map[string]any{"vars": map[string]string{"A": "1", "TOKEN": "s3cret-value"}, "replace": false}, &got)
	c.must(200, "PUT", "/api/v1/env_vars", map[string]any{"vars": map[string]string{"B": "2"}, "replace": false}, &got)
	if len(got.Vars) != 3 || got.Vars["TOKEN"] != "s3cret-value" {
		t.Fatalf("after merge: %v", got.Vars)
	}
	c.must(204, "DELETE", "/api/v1/env_vars/A", nil, nil)
	c.must(404, "DELETE", "/api/v1/env_vars/A", nil, nil)
	got = vers.EnvVarsResponse{} // decoding merges into an existing map
	c.must(200, "GET", "/api/v1/env_vars", nil, &got)
	if len(got.Vars) != 2 || got.Vars["B"] != "2" {
		t.Fatalf("after delete: %v", got.Vars)
	}
	got = vers.EnvVarsResponse{}
	c.must(200, "PUT", "/api/v1/env_vars", map[string]any{"vars": map[string]string{"C": "3"}, "replace": true}, &got)
	if len(got.Vars) != 1 || got.Vars["C"] != "3" {
		t.Fatalf("after replace: %v", got.Vars)
	}

	for _, body := range []any{
		`{"vars":{"1BAD":"x"}}`, `{"vars":{"A=B":"x"}}`, `{"vars":{"":"x"}}`, `{"replace":true}`,
		`{"vars":["A"]}`, `{"vars":{"A":1}}`, `not json`, ``,
	} {
		if r := c.do("PUT", "/api/v1/env_vars", body); r.status != 400 {
			t.Errorf("PUT %s: status %d, want 400 (%s)", body, r.status, r.body)
		}
	}
	r := c.do("PUT", "/api/v1/env_vars", map[string]any{"vars": map[string]string{"X": "leak-me\x00"}})
	if r.status != 400 || strings.Contains(string(r.body), "leak-me") {
		t.Errorf("NUL in value: %d %s; want 400 that does not echo the value", r.status, r.body)
	}
	c.must(400, "DELETE", "/api/v1/env_vars/not-valid", nil, nil)
	if strings.Contains(logs.String(), "s3cret-value") {
		t.Fatal("an env var value reached the log")
	}
}

// Account variables reach every command, under the request's own env, and
// a commit does not capture them: a VM made from the commit after the
// variable is deleted does not see it.
func TestEnvVarsInjectedNotCommitted(t *testing.T) {
	s := startTest(t, "")
	c := newClient(t, s)
	vm := c.newRoot()
	c.must(200, "PUT", "/api/v1/env_vars", map[string]any{"vars": map[string]string{"ACCOUNT_TOKEN": "tok-123", "SHADOWED": "account"}}, nil)
	var out vers.ExecResponse
	c.must(200, "POST", "/api/v1/vm/"+vm+"/exec", map[string]any{
		"command": []string{"sh", "-c", `echo "$ACCOUNT_TOKEN $SHADOWED"`}, "env": map[string]string{"SHADOWED": "request"},
	}, &out)
	if out.Stdout != "tok-123 request\n" {
		t.Fatalf("exec saw %q, want the account var and the request's override", out.Stdout)
	}
	commitID := c.commit(vm, nil)
	c.must(204, "DELETE", "/api/v1/env_vars/ACCOUNT_TOKEN", nil, nil)
	var child vers.NewVMResponse
	c.must(201, "POST", "/api/v1/vm/from_commit", map[string]any{"commit_id": commitID}, &child)
	if got := c.execOK(child.VMID, `echo "[$ACCOUNT_TOKEN]"; grep -rl tok-123 /etc /root 2>/dev/null || true`); got != "[]\n" {
		t.Fatalf("VM from the commit still has the deleted variable: %q", got)
	}
}

// A working_dir that does not exist is the caller's mistake: 400 naming
// the path, before anything runs. Symlinked directories still work.
func TestExecMissingWorkingDirIs400(t *testing.T) {
	s := startTest(t, "")
	c := newClient(t, s)
	vm := c.newRoot()
	for _, path := range []string{"/exec", "/exec/stream"} {
		r := c.must(400, "POST", "/api/v1/vm/"+vm+path, map[string]any{"command": []string{"true"}, "working_dir": "/no/such/dir"}, nil)
		if msg := r.errorMessage(t); !strings.Contains(msg, `"/no/such/dir"`) {
			t.Fatalf("%s: message %q does not name the path", path, msg)
		}
	}
	c.must(400, "POST", "/api/v1/vm/"+vm+"/exec", map[string]any{"command": []string{"true"}, "working_dir": "/etc/passwd"}, nil)
	c.execOK(vm, "mkdir -p /srv/app && ln -s /srv/app /app")
	var out vers.ExecResponse
	c.must(200, "POST", "/api/v1/vm/"+vm+"/exec", map[string]any{"command": []string{"pwd"}, "working_dir": "/app"}, &out)
	if out.ExitCode != 0 || !strings.HasSuffix(out.Stdout, "app\n") {
		t.Fatalf("symlinked working_dir: %+v", out)
	}
}
