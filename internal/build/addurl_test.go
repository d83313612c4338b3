package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vers-sh/terraform-provider-vers/internal/tfharness"
)

// ADD <url> is downloaded by the engine (here from a server on loopback,
// which the builder VM could not reach) and streamed into the VM: checksum
// verified, mode 0600 unless --chmod, Last-Modified as mtime, --chown and
// the destination rules applied; a checksummed ADD is cached (no second
// download) while an unchecked one runs again.
func TestExecute_addURL(t *testing.T) {
	body := "downloaded payload\n"
	lastMod := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	var toolGets atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/dir/tool.txt", "/x":
			if r.URL.Path == "/dir/tool.txt" {
				toolGets.Add(1)
			}
			w.Header().Set("Last-Modified", lastMod.Format(http.TimeFormat))
			_, _ = w.Write([]byte(body))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ts := startServer(t)
	sum := sha256.Sum256([]byte(body))
	good := "sha256:" + hex.EncodeToString(sum[:])
	df := "FROM scratch\nWORKDIR /w\n" +
		"ADD --checksum=" + good + " " + srv.URL + "/dir/tool.txt /opt/\n" +
		"ADD " + srv.URL + "/x /x.txt\n" +
		"ADD --chmod=755 --chown=nobody " + srv.URL + "/dir/tool.txt bin/\n"
	res, err := Execute(context.Background(), ts.client, prepare(t, t.TempDir(), df), Options{BuildID: "add"})
	if err != nil {
		t.Fatal(err)
	}
	vm := tfharness.BootVM(t, ts.client, res.CommitID)
	got := execIn(t, ts.client, vm, "sh", "-c", "cat /opt/tool.txt; stat -c '%n %a %U %Y' /opt/tool.txt /x.txt /w/bin/tool.txt")
	want := body + "/opt/tool.txt 600 root 1714979289\n/x.txt 600 root 1714979289\n/w/bin/tool.txt 755 nobody 1714979289"
	if got != want {
		t.Fatalf("in the image:\n%s\nwant:\n%s", got, want)
	}

	gets := toolGets.Load()
	again, err := Execute(context.Background(), ts.client, prepare(t, t.TempDir(), df), Options{BuildID: "add2"})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Layers[0].Cached || again.Layers[1].Cached {
		t.Fatalf("the checksummed ADD must be cached and the unchecked one must run: %+v", again.Layers)
	}
	// Layer 3 stands on the rebuilt layer 2, so it runs too: one download.
	if n := toolGets.Load() - gets; n != 1 {
		t.Fatalf("the second build downloaded tool.txt %d times, want 1 (only the step after the rebuilt one)", n)
	}

	t.Run("a wrong checksum fails at its line and names both sums", func(t *testing.T) {
		wrong := "sha256:" + strings.Repeat("0", 64)
		bad := strings.Replace(df, good, wrong, 1)
		_, err := Execute(context.Background(), ts.client, prepare(t, t.TempDir(), bad), Options{BuildID: "bad", NoCache: true})
		var mismatch *ChecksumMismatchError
		var se *StepError
		if !errors.As(err, &mismatch) || !errors.As(err, &se) || se.Line != 3 {
			t.Fatalf("want a checksum mismatch at line 3, got %v", err)
		}
		for _, s := range []string{"Dockerfile:3: ADD", "checksum mismatch", "got " + good, "want " + wrong} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q does not say %q", err, s)
			}
		}
	})

	t.Run("an HTTP error fails the step and hides the URL's password", func(t *testing.T) {
		missing := strings.Replace(srv.URL, "http://", "http://user:hunter2pw@", 1) + "/missing"
		_, err := Execute(context.Background(), ts.client, prepare(t, t.TempDir(), "FROM scratch\nADD "+missing+" /m\n"), Options{BuildID: "404"})
		if err == nil || !strings.Contains(err.Error(), "HTTP 404") || !strings.Contains(err.Error(), "Dockerfile:2") {
			t.Fatalf("want HTTP 404 at Dockerfile:2, got %v", err)
		}
		if strings.Contains(err.Error(), "hunter2pw") {
			t.Fatalf("the error shows the URL's password: %v", err)
		}
	})

	if n := len(ts.liveVMs(t)); n != 1 { // the VM booted above for inspection
		t.Fatalf("%d VMs left, want only the inspection VM", n)
	}
}

// Downloads never dial link-local addresses, where cloud metadata services
// hand out the runner's credentials. The check runs before connect, so the
// test sends no packet.
func TestRefuseLinkLocal(t *testing.T) {
	for _, addr := range []string{"169.254.169.254:80", "[fe80::1]:443", "0.0.0.0:80"} {
		if err := refuseLinkLocal("tcp", addr, nil); err == nil {
			t.Errorf("%s allowed", addr)
		}
	}
	for _, addr := range []string{"127.0.0.1:8080", "10.1.2.3:443", "[2001:db8::1]:443"} {
		if err := refuseLinkLocal("tcp", addr, nil); err != nil {
			t.Errorf("%s refused: %v", addr, err)
		}
	}
}
