package versd

import (
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadInput sends malformed requests and checks each gets the documented
// error body, the right status and a message that says what is wrong.
func TestBadInput(t *testing.T) {
	s := startTest(t, "")
	c := newClient(t, s)
	vm := c.newRoot()
	commitID := c.commit(vm, nil)
	c.execOK(vm, "ln -s /../../../../etc/os-release /root/hostlink && ln -s ../../../../../tmp /root/hostdir")
	c.must(201, "POST", "/api/v1/repositories", map[string]any{"name": "app"}, nil)
	unknown := "00000000-0000-4000-8000-000000000000"
	hostFile := filepath.Join(t.TempDir(), "host-secret")
	if err := os.WriteFile(hostFile, []byte("host"), 0o600); err != nil {
		t.Fatal(err)
	}
	huge := `{"name":"` + strings.Repeat("a", 9<<20) + `"}`

	cases := []struct {
		name, method, path string
		body               any
		status             int
		want               string // substring of the error message
	}{
		{"repo name wrong type", "POST", "/api/v1/repositories", `{"name": 5}`, 400, `"name" must be a string`},
		{"repo name missing", "POST", "/api/v1/repositories", `{}`, 400, "name is required"},
		{"repo name invalid chars", "POST", "/api/v1/repositories", `{"name": "my app"}`, 400, "may contain only"},
		{"repo name too long", "POST", "/api/v1/repositories", `{"name": "` + strings.Repeat("r", 65) + `"}`, 400, "limit is 64"},
		{"repo name invalid UTF-8", "POST", "/api/v1/repositories", []byte("{\"name\": \"ab\xff\"}"), 400, "UTF-8"},
		{"repo name unicode", "POST", "/api/v1/repositories", `{"name": "caf\u00e9"}`, 400, "may contain only"},
		{"truncated JSON", "POST", "/api/v1/repositories", `{"name": "x"`, 400, "malformed JSON"},
		{"trailing data", "POST", "/api/v1/repositories", `{"name": "x"} {}`, 400, "unexpected data"},
		{"array body", "POST", "/api/v1/repositories", `[1,2]`, 400, "malformed JSON"},
		{"empty body", "POST", "/api/v1/repositories", ``, 400, "empty"},
		{"huge body", "POST", "/api/v1/repositories", huge, 413, "limit"},
		{"tag commit_id not uuid", "POST", "/api/v1/repositories/app/tags", `{"tag_name":"v1","commit_id":"abc"}`, 400, "not a UUID"},
		{"tag commit unknown", "POST", "/api/v1/repositories/app/tags", `{"tag_name":"v1","commit_id":"` + unknown + `"}`, 404, "Commit not found"},
		{"tag name has colon", "POST", "/api/v1/repositories/app/tags", `{"tag_name":"a:b","commit_id":"` + commitID + `"}`, 400, "may contain only"},
		{"tag in unknown repo", "POST", "/api/v1/repositories/nope/tags", `{"tag_name":"v1","commit_id":"` + commitID + `"}`, 404, "Repository not found"},
		{"legacy tag wrong type", "POST", "/api/v1/commit_tags", `{"tag_name":["x"],"commit_id":"` + commitID + `"}`, 400, `"tag_name" must be a string`},
		{"tag patch commit wrong type", "PATCH", "/api/v1/repositories/app/tags/none", `{"commit_id": 7}`, 404, "Tag not found"},
		{"unknown commit tag", "GET", "/api/v1/commit_tags/none", nil, 404, "Tag not found"},
		{"unknown VM", "GET", "/api/v1/vm/" + unknown + "/status", nil, 404, "VM not found"},
		{"VM id not uuid", "GET", "/api/v1/vm/not-a-uuid/status", nil, 400, "not a UUID"},
		{"unknown commit delete", "DELETE", "/api/v1/commits/" + unknown, nil, 404, "Commit not found"},
		{"new_root without vm_config", "POST", "/api/v1/vm/new_root", `{}`, 400, "vm_config is required"},
		{"new_root negative memory", "POST", "/api/v1/vm/new_root", `{"vm_config":{"mem_size_mib":-1}}`, 400, "positive"},
		{"new_root vcpu string", "POST", "/api/v1/vm/new_root", `{"vm_config":{"vcpu_count":"2"}}`, 400, "vm_config.vcpu_count"},
		{"new_root bad wait_boot", "POST", "/api/v1/vm/new_root?wait_boot=maybe", `{"vm_config":{}}`, 400, "not a boolean"},
		{"from_commit none", "POST", "/api/v1/vm/from_commit", `{}`, 400, "exactly one"},
		{"from_commit two", "POST", "/api/v1/vm/from_commit", `{"commit_id":"` + commitID + `","tag_name":"x"}`, 400, "exactly one"},
		{"from_commit bad ref", "POST", "/api/v1/vm/from_commit", `{"ref":"app"}`, 400, "has no tag"},
		{"from_commit other org", "POST", "/api/v1/vm/from_commit", `{"ref":"acme/app:v1"}`, 404, "organisation"},
		{"branch count negative", "POST", "/api/v1/vm/branch/by_commit/" + commitID + "?count=-1", nil, 400, "count"},
		{"branch count huge", "POST", "/api/v1/vm/branch/by_commit/" + commitID + "?count=100000", nil, 400, "count"},
		{"state lowercase wrong", "PATCH", "/api/v1/vm/" + vm + "/state", `{"state":"Sleeping"}`, 400, "Paused"},
		{"state wrong type", "PATCH", "/api/v1/vm/" + vm + "/state", `{"state":true}`, 400, `"state" must be a string`},
		{"disk shrink", "PATCH", "/api/v1/vm/" + vm + "/disk", `{"fs_size_mib":10}`, 400, "greater than current"},
		{"exec timeout overflow", "POST", "/api/v1/vm/" + vm + "/exec", `{"command":["true"],"timeout_secs":9223372036854775807}`, 400, "timeout_secs must be from 0"},
		{"exec timeout above a week", "POST", "/api/v1/vm/" + vm + "/exec", `{"command":["true"],"timeout_secs":604801}`, 400, "604800"},
		{"exec timeout negative", "POST", "/api/v1/vm/" + vm + "/exec/stream", `{"command":["true"],"timeout_secs":-1}`, 400, "timeout_secs"},
		{"exec timeout beyond int64", "POST", "/api/v1/vm/" + vm + "/exec", `{"command":["true"],"timeout_secs":1e30}`, 400, "timeout_secs"},
		{"new_root vcpu huge", "POST", "/api/v1/vm/new_root", `{"vm_config":{"vcpu_count":9223372036854775807}}`, 400, "maximum"},
		{"new_root memory huge", "POST", "/api/v1/vm/new_root", `{"vm_config":{"mem_size_mib":9223372036854775807}}`, 400, "maximum"},
		{"disk resize huge", "PATCH", "/api/v1/vm/" + vm + "/disk", `{"fs_size_mib":9223372036854775807}`, 400, "maximum"},
		{"commits limit huge", "GET", "/api/v1/commits?limit=9223372036854775808", nil, 400, "limit"},
		{"logs max_entries huge", "GET", "/api/v1/vm/" + vm + "/logs?max_entries=99999999999", nil, 400, "max_entries"},
		{"exec empty command", "POST", "/api/v1/vm/" + vm + "/exec", `{"command":[]}`, 400, "command is required"},
		{"exec command not array", "POST", "/api/v1/vm/" + vm + "/exec", `{"command":"ls"}`, 400, `"command" must be a array`},
		// ".." stops at the VM root: a host file is not reachable.
		{"file traversal", "GET", "/api/v1/vm/" + vm + "/files?path=../../../.." + hostFile, nil, 404, "file not found"},
		{"file is a directory", "GET", "/api/v1/vm/" + vm + "/files?path=/root", nil, 400, "not a regular file"},
		{"file bad base64", "PUT", "/api/v1/vm/" + vm + "/files", `{"path":"/x","content_b64":"!!"}`, 400, "base64"},
		{"commit patch missing is_public", "PATCH", "/api/v1/commits/" + commitID, `{"name":"x"}`, 400, "is_public is required"},
		{"commits bad limit", "GET", "/api/v1/commits?limit=abc", nil, 400, "limit"},
		{"fork bad org", "POST", "/api/v1/repositories/fork", `{"source_org":"","source_repo":"a","source_tag":"b"}`, 400, "source_org"},
		{"attach unknown exec", "POST", "/api/v1/vm/" + vm + "/exec/stream/attach", `{"exec_id":"nope"}`, 404, "not found"},
		{"no such endpoint", "GET", "/api/v1/nothing-here", nil, 404, "no such endpoint"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.do(tc.method, tc.path, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d; body %.300s", r.status, tc.status, r.body)
			}
			if msg := r.errorMessage(t); !strings.Contains(msg, tc.want) {
				t.Fatalf("error %q does not mention %q", msg, tc.want)
			}
		})
	}
	// Symlinks resolve inside the VM, because the VM's own SFTP server does
	// the file access: a link "out" reaches the VM's files, never the host's.
	r := c.do("GET", "/api/v1/vm/"+vm+"/files?path=/root/hostlink", nil)
	if r.status != 200 || !strings.Contains(string(r.body), base64.StdEncoding.EncodeToString([]byte("NAME=\"versd busybox\""))[:20]) {
		t.Errorf("symlink read: status %d body %.200s; want the VM's own /etc/os-release", r.status, r.body)
	}
	name := "versd-link-probe-" + filepath.Base(t.TempDir())
	c.must(200, "PUT", "/api/v1/vm/"+vm+"/files", map[string]any{"path": "/root/hostdir/" + name, "content_b64": ""}, nil)
	if _, err := os.Stat(filepath.Join("/tmp", name)); err == nil {
		t.Errorf("a write through a VM symlink landed in the host's /tmp")
	}
	// The server survived all of it and still answers.
	c.must(200, "GET", "/api/v1/vm/"+vm+"/status", nil, nil)
}

func TestAuth(t *testing.T) {
	s := startTest(t, "")
	for _, key := range []string{"", "wrong", testKey + "x", strings.ToUpper(testKey)} {
		c := newClient(t, s)
		c.key = key
		r := c.do("GET", "/api/v1/repositories", nil)
		if r.status != http.StatusUnauthorized {
			t.Fatalf("key %q: status %d", key, r.status)
		}
		if msg := r.errorMessage(t); !strings.Contains(msg, "API key") {
			t.Fatalf("key %q: message %q", key, msg)
		}
	}
	// /health needs no key.
	c := newClient(t, s)
	c.key = ""
	c.must(200, "GET", "/health", nil, nil)
}

// TestLogsNeverContainSecrets checks the request log has no API key and no
// SSH private key even when they travel in requests and responses.
func TestLogsNeverContainSecrets(t *testing.T) {
	var logs logBuffer
	s := startTest(t, "", func(o *Options) { o.Logf = logs.logf })
	c := newClient(t, s)
	vm := c.newRoot()
	var key struct {
		SSHPort       int    `json:"ssh_port"`
		SSHPrivateKey string `json:"ssh_private_key"`
	}
	c.must(200, "GET", "/api/v1/vm/"+vm+"/ssh_key", nil, &key)
	if !strings.Contains(key.SSHPrivateKey, "OPENSSH PRIVATE KEY") || key.SSHPort == 0 {
		t.Fatalf("ssh_key response = %+v", key)
	}
	c.key = "wrong-key"
	c.do("GET", "/api/v1/vms", nil)
	out := logs.String()
	if strings.Contains(out, testKey) || strings.Contains(out, "wrong-key") || strings.Contains(out, "PRIVATE KEY") {
		t.Fatalf("log leaks a secret:\n%s", out)
	}
	if !strings.Contains(out, "GET /api/v1/vm/{id}/ssh_key 200") {
		t.Fatalf("log lacks the request line:\n%s", out)
	}
}
