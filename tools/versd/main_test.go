package main

import (
	"bufio"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
	"github.com/vers-sh/terraform-provider-vers/internal/versd"
)

// A user who starts versd with flags and exports only VERS_BASE_URL and
// VERS_SSH_ADDRESS must get a VM domain that matches the gateway's
// certificate.
func TestDefaultVMDomainMatchesProviderDerivation(t *testing.T) {
	for _, base := range []string{"http://127.0.0.1:8787", "http://localhost:8787", "http://[::1]:8787"} {
		if got := vers.DeriveVMDomain(base); got != versd.DefaultVMDomain {
			t.Errorf("provider derives %q for %s, versd names VMs under %q", got, base, versd.DefaultVMDomain)
		}
	}
}

func TestResolveAPIKeyOrder(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("VERSD_API_KEY", "")
	generated, err := resolveAPIKey("", dir)
	if err != nil || !strings.HasPrefix(generated, "versd-") {
		t.Fatalf("generated key = %q, %v", generated, err)
	}
	if st, err := os.Stat(filepath.Join(dir, "api-key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the generated key must be stored with mode 0600: %v %v", st, err)
	}
	if again, _ := resolveAPIKey("", dir); again != generated {
		t.Fatalf("a restart must keep the stored key: %q vs %q", again, generated)
	}
	t.Setenv("VERSD_API_KEY", "from-env")
	if k, _ := resolveAPIKey("", dir); k != "from-env" {
		t.Fatalf("VERSD_API_KEY must win over the stored key, got %q", k)
	}
	if k, _ := resolveAPIKey("from-flag", dir); k != "from-flag" {
		t.Fatalf("--api-key must win, got %q", k)
	}
}

// TestCommandServesAndStops runs the built command the way a person does:
// it prints the exports, answers /health and the API with its key, and
// exits cleanly on SIGINT.
func TestCommandServesAndStops(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "versd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "--listen", "127.0.0.1:0", "--ssh-listen", "127.0.0.1:0", "--data", t.TempDir(), "--quiet")
	cmd.Env = append(os.Environ(), "VERSD_API_KEY=cmd-test-key")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	exports := map[string]string{}
	sc := bufio.NewScanner(stdout)
	for len(exports) < 6 && sc.Scan() {
		line := sc.Text()
		if k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "="); ok && strings.HasPrefix(line, "export ") {
			exports[k] = strings.Trim(v, `'"`)
		}
	}
	for _, k := range []string{"VERS_BASE_URL", "VERS_API_KEY", "VERS_SSH_ADDRESS", "VERS_SSH_CA_FILE", "VERS_VM_DOMAIN"} {
		if exports[k] == "" {
			t.Fatalf("versd did not print export %s (got %v)", k, exports)
		}
	}
	if exports["VERS_API_KEY"] != "cmd-test-key" {
		t.Fatalf("exported key %q, want the one from VERSD_API_KEY", exports["VERS_API_KEY"])
	}
	if _, err := os.Stat(exports["VERS_SSH_CA_FILE"]); err != nil {
		t.Fatalf("the CA file it names does not exist: %v", err)
	}
	get := func(path, key string) int {
		req, _ := http.NewRequest("GET", exports["VERS_BASE_URL"]+path, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get("/health", ""); got != 200 {
		t.Fatalf("/health = %d", got)
	}
	if got := get("/api/v1/repositories", "cmd-test-key"); got != 200 {
		t.Fatalf("listing repositories with the key = %d", got)
	}
	if got := get("/api/v1/repositories", "wrong"); got != 401 {
		t.Fatalf("a wrong key got %d, want 401", got)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("versd did not exit cleanly on SIGINT: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("versd did not stop within 30 s of SIGINT")
	}
}

func TestOfficialCLIMode(t *testing.T) {
	opts := versd.Options{VMDomain: "vm.versd.localhost", SSHListen: "127.0.0.1:8443"}
	if err := applyCLIMode(&opts, true, false, true, "/tmp/hosts"); err != nil {
		t.Fatal(err)
	}
	if opts.APIHost != "api.versd.localhost" || opts.SSHListen != "127.0.0.1:443" || opts.HostsFile != "/tmp/hosts" {
		t.Fatalf("options = %+v", opts)
	}
	// An explicit --ssh-listen wins (e.g. behind a port redirect).
	opts = versd.Options{VMDomain: "vm.example.test", SSHListen: "0.0.0.0:9443"}
	if err := applyCLIMode(&opts, true, true, false, "/etc/hosts"); err != nil {
		t.Fatal(err)
	}
	if opts.APIHost != "api.example.test" || opts.SSHListen != "0.0.0.0:9443" || opts.HostsFile != "" {
		t.Fatalf("options = %+v", opts)
	}
	opts = versd.Options{VMDomain: "machines.example.test"}
	if err := applyCLIMode(&opts, true, false, false, ""); err == nil || !strings.Contains(err.Error(), "vm.X") {
		t.Fatalf("a VM domain the CLI cannot derive was accepted: %v", err)
	}
}

// The key from --api-key-file (or VERSD_API_KEY) never appears on the
// command line other local users can read; --api-key still works but warns.
func TestAPIKeyStaysOffTheCommandLine(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "versd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte("file-key-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (exported, stderr string, cmdline []byte) {
		t.Helper()
		args = append([]string{"--listen", "127.0.0.1:0", "--ssh-listen", "127.0.0.1:0", "--data", t.TempDir(), "--quiet"}, args...)
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "VERSD_API_KEY=")
		var errBuf strings.Builder
		cmd.Stderr = &errBuf
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "export VERS_API_KEY="); ok {
				exported = strings.Trim(v, `'"`)
				break
			}
		}
		cmdline, _ = os.ReadFile(filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "cmdline"))
		cmd.Process.Kill()
		cmd.Wait()
		return exported, errBuf.String(), cmdline
	}
	key, stderr, cmdline := run("--api-key-file", keyFile)
	if key != "file-key-123" {
		t.Fatalf("exported key %q, want the file's; stderr:\n%s", key, stderr)
	}
	if strings.Contains(string(cmdline), "file-key-123") || strings.Contains(stderr, "file-key-123") {
		t.Fatal("the key from the file is visible in the command line or the log")
	}
	key, stderr, _ = run("--api-key", "flag-key-456")
	if key != "flag-key-456" || !strings.Contains(stderr, "--api-key is visible to every local user") {
		t.Fatalf("--api-key: exported %q, stderr:\n%s", key, stderr)
	}
}

func TestReadOrgsFile(t *testing.T) {
	dir := t.TempDir()
	write := func(content string, mode os.FileMode) string {
		p := filepath.Join(dir, strconv.Itoa(int(time.Now().UnixNano())))
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	orgs, err := readOrgsFile(write("# team keys\nacme  acme-key-1\n\n  beta\tbeta-key-2  \n", 0o600))
	if err != nil || len(orgs) != 2 || orgs[0] != (versd.OrgKey{Name: "acme", APIKey: "acme-key-1"}) || orgs[1] != (versd.OrgKey{Name: "beta", APIKey: "beta-key-2"}) {
		t.Fatalf("orgs = %+v, %v", orgs, err)
	}
	if _, err := readOrgsFile(write("acme acme-key-1\n", 0o644)); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a world-readable keys file was accepted: %v", err)
	}
	_, err = readOrgsFile(write("acme acme-key-1 trailing-secret\n", 0o600))
	if err == nil || !strings.Contains(err.Error(), "line 1") || strings.Contains(err.Error(), "acme-key-1") || strings.Contains(err.Error(), "trailing-secret") {
		t.Fatalf("a malformed line: %v (must name the line, never the key)", err)
	}
	if _, err := readOrgsFile(write("# nothing\n", 0o600)); err == nil {
		t.Fatal("an empty orgs file was accepted")
	}
}

// With --orgs-file, each organisation's key works and sees only its own
// objects, and no key reaches the command line or the log.
func TestCommandServesSeveralOrgs(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "versd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	orgsFile := filepath.Join(t.TempDir(), "orgs")
	if err := os.WriteFile(orgsFile, []byte("acme acme-key-789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--listen", "127.0.0.1:0", "--ssh-listen", "127.0.0.1:0", "--data", t.TempDir(),
		"--org-name", "home", "--orgs-file", orgsFile)
	cmd.Env = append(os.Environ(), "VERSD_API_KEY=home-key-456")
	var errBuf strings.Builder
	cmd.Stderr = &errBuf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var base string
	sc := bufio.NewScanner(stdout)
	for base == "" && sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "export VERS_BASE_URL="); ok {
			base = strings.Trim(v, `'"`)
		}
	}
	do := func(method, path, key, body string) (int, string) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = bufio.NewReader(resp.Body).WriteTo(&b)
		return resp.StatusCode, b.String()
	}
	if code, body := do("POST", "/api/v1/repositories", "acme-key-789", `{"name":"app"}`); code != 201 {
		t.Fatalf("acme creates a repository: %d %s", code, body)
	}
	if code, _ := do("GET", "/api/v1/repositories/app", "home-key-456", ""); code != 404 {
		t.Fatalf("home reads acme's repository: %d, want 404", code)
	}
	if code, body := do("GET", "/api/v1/public/repositories/vers/base", "home-key-456", ""); code != 200 || !strings.Contains(body, `"full_name":"vers/base"`) {
		t.Fatalf("vers/base: %d %s", code, body)
	}
	cmdline, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "cmdline"))
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	for _, key := range []string{"acme-key-789", "home-key-456"} {
		if strings.Contains(string(cmdline), key) || strings.Contains(errBuf.String(), key) {
			t.Fatalf("key %s is in the command line or the log:\n%s", key, errBuf.String())
		}
	}
	if !strings.Contains(errBuf.String(), "organisations: home (the exports above), acme") {
		t.Fatalf("the log does not name the organisations:\n%s", errBuf.String())
	}
}
