package reliability

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// tfRow is one malformed configuration and the diagnostic it must produce.
type tfRow struct {
	name  string
	hcl   string // resources (and provider block) after the terraform block
	files map[string]string
	want  string // regexp the output must match (case-insensitive)
}

func buildRow(name, dockerfile, want string, extra ...string) tfRow {
	return tfRow{name: "dockerfile/" + name, want: want, files: map[string]string{"app/f.txt": "x\n", "app/a.tar.gz": "not really gzip"},
		hcl: fmt.Sprintf(`provider "vers" {}
resource "vers_build" "b" {
  context            = "${path.module}/app"
  dockerfile_content = %q
  vm_config          = { vcpu_count = 1, mem_size_mib = 256, fs_size_mib = 512 }
  %s
}
`, dockerfile, strings.Join(extra, "\n"))}
}

func attrRow(name, resource, want string) tfRow {
	return tfRow{name: name, want: want, hcl: "provider \"vers\" {}\n" + resource}
}

func providerRow(name, settings, want string) tfRow {
	return tfRow{name: "provider/" + name, want: want,
		hcl: "provider \"vers\" {\n" + settings + "\n}\ndata \"vers_repo\" \"r\" { name = \"anything\" }\n"}
}

func badTerraformRows(caDir string) []tfRow {
	return []tfRow{
		buildRow("HEALTHCHECK without command", "FROM scratch\nHEALTHCHECK CMD\n", `HEALTHCHECK|CMD`),
		buildRow("SHELL not JSON", "FROM scratch\nSHELL /bin/bash -c\n", `SHELL`),
		buildRow("STOPSIGNAL bad", "FROM scratch\nSTOPSIGNAL NOT A SIGNAL\n", `STOPSIGNAL`),
		buildRow("ONBUILD", "FROM scratch\nONBUILD RUN true\n", `ONBUILD`),
		buildRow("stage name twice", "FROM scratch AS base\nRUN true\nFROM scratch AS base\n", `already used`),
		buildRow("unknown target", "FROM scratch AS base\nRUN true\n", `no build stage`, `target = "nope"`),
		buildRow("COPY --from a later stage", "FROM scratch\nCOPY --from=later /x /y\nFROM scratch AS later\n", `--from`),
		buildRow("FROM digest", "FROM node:24@sha256:abc\n", `digest`),
		buildRow("FROM registry", "FROM ghcr.io/a/b:1\n", `registry`),
		buildRow("RUN --mount ssh", "FROM scratch\nRUN --mount=type=ssh true\n", `type=ssh`),
		buildRow("ADD git URL", "FROM scratch\nADD https://github.com/o/r.git /x\n", `Git`),
		buildRow("ADD archive", "FROM scratch\nADD a.tar.gz /x/\n", `archive|extract`),
		buildRow("unknown instruction", "FROM scratch\nFORM scratch\n", `unknown instruction|FORM`),
		buildRow("empty", "", `empty|FROM`),
		buildRow("no FROM first", "RUN true\n", `FROM`),
		buildRow("ENV without value", "FROM scratch\nENV\n", `ENV`),
		buildRow("COPY outside context", "FROM scratch\nCOPY ../secret /x\n", `outside|context`),
		buildRow("COPY missing source", "FROM scratch\nCOPY nothere.txt /x\n", `nothere.txt`),
		buildRow("COPY with one argument", "FROM scratch\nCOPY f.txt\n", `COPY`),
		{name: "dockerfile/scratch without vm_config", want: `vm_config`, files: map[string]string{"app/f.txt": "x"},
			hcl: "provider \"vers\" {}\nresource \"vers_build\" \"b\" {\n  context = \"${path.module}/app\"\n  dockerfile_content = \"FROM scratch\\nRUN true\\n\"\n}\n"},

		attrRow("repo/name with space", `resource "vers_repo" "r" { name = "my app" }`, `name`),
		attrRow("repo/name too long", `resource "vers_repo" "r" { name = "`+strings.Repeat("r", 65)+`" }`, `64`),
		attrRow("repo/name empty", `resource "vers_repo" "r" { name = "" }`, `name`),
		attrRow("repo/name unicode", `resource "vers_repo" "r" { name = "café" }`, `name`),
		attrRow("tag/name with colon", `resource "vers_tag" "t" {
  repo = "app"
  name = "a:b"
  commit_id = "3f2c1a9e-5b7d-4c8e-9f01-23456789abcd"
}`, `name`),
		attrRow("tag/repo with slash", `resource "vers_tag" "t" {
  repo = "org/app"
  name = "v1"
  commit_id = "3f2c1a9e-5b7d-4c8e-9f01-23456789abcd"
}`, `repo`),
		attrRow("tag/commit_id not a uuid", `resource "vers_tag" "t" {
  repo = "app"
  name = "v1"
  commit_id = "xyz"
}`, `commit_id|UUID`),
		attrRow("vm/ref without tag", `resource "vers_vm" "v" { ref = "app" }`, `ref|tag`),
		attrRow("vm/ref empty tag", `resource "vers_vm" "v" { ref = "app:" }`, `ref|tag`),
		attrRow("vm/ref and commit_id", `resource "vers_vm" "v" {
  ref = "app:v1"
  commit_id = "3f2c1a9e-5b7d-4c8e-9f01-23456789abcd"
}`, `ref|commit_id|conflict|only one`),
		attrRow("vm/commit_id not a uuid", `resource "vers_vm" "v" { commit_id = "c1234" }`, `commit_id|UUID`),
		attrRow("vm/state unknown", `resource "vers_vm" "v" {
  ref = "app:v1"
  state = "sleeping"
}`, `state`),
		attrRow("function/ref bad repo", `output "o" { value = provider::vers::ref("bad name", "x") }`, `repo|name`),
		attrRow("function/parse_ref garbage", `output "o" { value = provider::vers::parse_ref("::") }`, `ref|reference`),

		providerRow("base_url not a url", `base_url = "not a url"`, `base.?url|URL`),
		providerRow("base_url ftp", `base_url = "ftp://example.com"`, `http`),
		providerRow("max_retries negative", `max_retries = -1`, `max_retries`),
		providerRow("request_timeout bad", `request_timeout = "soon"`, `request_timeout|duration`),
		providerRow("ssh_ca_file missing", `ssh_ca_file = "/nonexistent/ca.pem"`, `ssh_ca_file`),
		providerRow("ssh_ca_file directory", fmt.Sprintf(`ssh_ca_file = %q`, caDir), `ssh_ca_file`),
		providerRow("api_key empty", `api_key = ""`, `API key`),
	}
}

// crashSigns are what terraform prints when a provider panics or dies.
var crashSigns = regexp.MustCompile(`(?i)panic:|plugin did not respond|provider produced invalid|crash`)

// TestBadInput feeds malformed Dockerfiles, names, refs and provider
// settings to terraform plan, and malformed bodies to versd, and asserts a
// clear error for each, no crash, and a healthy versd afterwards.
func TestBadInput(t *testing.T) {
	s := startVersd(t, noFaults)
	ep := endpointOf(s)
	rows := badTerraformRows(t.TempDir())

	// Plans run in parallel (each in its own directory); assertions per row.
	outputs := make([]string, len(rows))
	errs := make([]error, len(rows))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i, row := range rows {
		dir := writeFiles(t, t.TempDir(), row.files)
		if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(providerHeader+row.hcl), 0o644); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			outputs[i], errs[i] = tfTry(ep, dir, []string{"NO_COLOR=1"}, "plan", "-input=false", "-no-color")
		}()
	}
	wg.Wait()
	for i, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			out := outputs[i]
			if errs[i] == nil {
				t.Fatalf("plan succeeded; want an error matching %q:\n%s", row.want, out)
			}
			if crashSigns.MatchString(out) {
				t.Fatalf("the provider crashed:\n%s", out)
			}
			if !strings.Contains(out, "Error: ") {
				t.Fatalf("no diagnostic in the output:\n%s", out)
			}
			if !regexp.MustCompile("(?i)" + row.want).MatchString(diagnostics(out)) {
				t.Fatalf("diagnostic does not match %q:\n%s", row.want, diagnostics(out))
			}
		})
	}

	t.Run("http", func(t *testing.T) { badHTTPBodies(t, s.URL) })
	healthy(t, s.URL)
}

// diagnostics keeps the Error blocks of terraform's output.
func diagnostics(out string) string {
	if i := strings.Index(out, "Error: "); i >= 0 {
		return out[i:]
	}
	return out
}

// badHTTPBodies posts malformed bodies to versd directly.
func badHTTPBodies(t *testing.T, baseURL string) {
	huge := `{"name":"` + strings.Repeat("a", 9<<20) + `"}`
	rows := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"repo name number", "POST", "/api/v1/repositories", `{"name": 5}`, 400, `name`},
		{"repo name null", "POST", "/api/v1/repositories", `{"name": null}`, 400, `name`},
		{"9 MiB body", "POST", "/api/v1/repositories", huge, 413, `limit|large`},
		// Unknown fields are accepted and ignored (forward compatibility with
		// newer SDKs, documented at versd's decodeJSON): 201, nothing else stored.
		{"unknown field", "POST", "/api/v1/repositories", `{"name":"ok-unknown","colour":"blue"}`, 201, ``},
		{"invalid UTF-8 name", "POST", "/api/v1/repositories", "{\"name\":\"a\xff\xfe\"}", 400, `UTF-8`},
		{"empty body", "POST", "/api/v1/repositories", ``, 400, `empty|body`},
		{"trailing garbage", "POST", "/api/v1/repositories", `{"name":"ok-trailing"}garbage`, 400, `unexpected|trailing|JSON`},
		{"not JSON", "POST", "/api/v1/repositories", `name=x`, 400, `JSON`},
		{"tag commit_id number", "POST", "/api/v1/commit_tags", `{"tag_name":"t","commit_id":42}`, 400, `commit_id`},
		{"exec command string", "POST", "/api/v1/vm/00000000-0000-4000-8000-000000000000/exec", `{"command":"ls"}`, 0, `command|VM not found`},
		{"vm_config array", "POST", "/api/v1/vm/new_root", `{"vm_config":[1]}`, 400, `vm_config`},
		{"deeply nested", "POST", "/api/v1/repositories", strings.Repeat("[", 100000) + strings.Repeat("]", 100000), 400, `JSON|depth|nest`},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			req, _ := http.NewRequest(row.method, baseURL+row.path, strings.NewReader(row.body))
			req.Header.Set("Authorization", "Bearer "+apiKey)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if row.want == "" {
				if resp.StatusCode != row.status || strings.Contains(string(raw), "colour") {
					t.Fatalf("status %d body %q, want %d without the unknown field", resp.StatusCode, raw, row.status)
				}
				return
			}
			var body struct {
				Error   string `json:"error"`
				Success *bool  `json:"success"`
			}
			if err := json.Unmarshal(raw, &body); err != nil || body.Error == "" || body.Success == nil || *body.Success {
				t.Fatalf("status %d with a body that is not the documented error shape: %q", resp.StatusCode, truncateForLog(raw))
			}
			if row.status != 0 && resp.StatusCode != row.status {
				t.Errorf("status %d, want %d (%s)", resp.StatusCode, row.status, body.Error)
			}
			if resp.StatusCode < 400 || resp.StatusCode >= 500 {
				t.Errorf("status %d: malformed input must be a 4xx", resp.StatusCode)
			}
			if !regexp.MustCompile("(?i)" + row.want).MatchString(body.Error) {
				t.Errorf("error %q does not match %q", body.Error, row.want)
			}
			healthy(t, baseURL)
		})
	}
}

func truncateForLog(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}
