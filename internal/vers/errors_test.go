package vers

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestErrorBodies(t *testing.T) {
	cases := []struct {
		name, body, want string
	}{
		{"documented", `{"error":"VM not found","success":false}`, "VM not found"},
		{"error only", `{"error":"Tag not found"}`, "Tag not found"},
		{"message fallback", `{"message":"nope"}`, "nope"},
		{"empty error uses message", `{"error":"","message":"fallback"}`, "fallback"},
		{"plain text", "upstream exploded\n", "upstream exploded"},
		{"empty", "", ""},
		{"nested", `{"error":{"code":"x"}}`, `{"code":"x"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv(t, 0, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusNotFound)
				_, _ = w.Write([]byte(tc.body))
			})
			_, err := env.client.GetVMStatus(context.Background(), "vm-9")
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v, want *APIError", err)
			}
			if apiErr.Message != tc.want || apiErr.StatusCode != 404 || apiErr.Method != "GET" || apiErr.Path != "/vm/vm-9/status" {
				t.Fatalf("got %+v", apiErr)
			}
			if !IsNotFound(err) || IsConflict(err) {
				t.Fatal("IsNotFound/IsConflict disagree with the status")
			}
			if !strings.Contains(err.Error(), "404") {
				t.Fatalf("error text %q lacks the status", err)
			}
		})
	}
}

func TestLongPlainErrorIsTruncated(t *testing.T) {
	env := newTestEnv(t, 0, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(strings.Repeat("x", 10000)))
	})
	_, err := env.client.ListVMs(context.Background())
	if err == nil || len(err.Error()) > maxErrorMessage+200 {
		t.Fatalf("error of %d bytes, want it bounded", len(err.Error()))
	}
}

func TestAPIKeyNeverInErrors(t *testing.T) {
	// A server that echoes the Authorization header back in its error body.
	env := newTestEnv(t, 1, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusUnauthorized, `{"error":"bad key: `+r.Header.Get("Authorization")+`"}`)
	})
	_, err := env.client.ListVMs(context.Background())
	if err == nil {
		t.Fatal("want an error")
	}
	if strings.Contains(err.Error(), testAPIKey) {
		t.Fatalf("error contains the key: %v", err)
	}
	if !strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("error %q should show where the key was redacted", err)
	}

	// Transport errors: nothing listens on the port.
	c, err := New(Config{BaseURL: "http://127.0.0.1:1", APIKey: testAPIKey, MaxRetries: 1,
		Sleep: func(context.Context, time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListVMs(context.Background())
	if err == nil || strings.Contains(err.Error(), testAPIKey) {
		t.Fatalf("transport error %v: want an error without the key", err)
	}
	if s := (Config{APIKey: testAPIKey}).String(); strings.Contains(s, testAPIKey) {
		t.Fatalf("Config.String leaks the key: %s", s)
	}
}

func TestEmptyAnd204BodiesAreSuccess(t *testing.T) {
	env := newTestEnv(t, 0, func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		default:
			w.WriteHeader(http.StatusOK) // empty 200
		}
	})
	ctx := context.Background()
	if err := env.client.DeleteRepository(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if err := env.client.SetVMState(ctx, "vm", VMTargetPaused); err != nil {
		t.Fatal(err)
	}
	out, err := env.client.DeleteVM(ctx, "vm-5")
	if err != nil || out.VMID != "vm-5" {
		t.Fatalf("DeleteVM = %+v, %v", out, err)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	if _, err := New(Config{BaseURL: "https://api.vers.sh"}); err == nil || !strings.Contains(err.Error(), "VERS_API_KEY") {
		t.Fatalf("missing key: %v", err)
	}
	if _, err := New(Config{BaseURL: "api.vers.sh", APIKey: "k"}); err == nil {
		t.Fatal("a base URL without scheme must be refused")
	}
	c, err := New(Config{BaseURL: "https://api.vers.sh/api/v1/", APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.endpoint("/vms", nil); got != "https://api.vers.sh/api/v1/vms" {
		t.Fatalf("endpoint = %q", got)
	}
	if c.maxRetries != 0 {
		t.Fatalf("MaxRetries 0 must mean no retries, got %d", c.maxRetries)
	}
	c, _ = New(Config{BaseURL: "https://api.vers.sh", APIKey: "k", MaxRetries: -1})
	if c.maxRetries != defaultMaxRetries {
		t.Fatalf("negative MaxRetries must mean the default, got %d", c.maxRetries)
	}
}

func TestPathSegmentsAreEscaped(t *testing.T) {
	env := newTestEnv(t, 0, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.EscapedPath() != "/api/v1/repositories/a%2Fb/tags/x%3Fy" {
			t.Errorf("path = %q", r.URL.EscapedPath())
		}
		writeJSON(w, http.StatusOK, `{"tag_name":"x?y"}`)
	})
	if _, err := env.client.GetRepoTag(context.Background(), "a/b", "x?y"); err != nil {
		t.Fatal(err)
	}
}

func TestDeriveVMDomain(t *testing.T) {
	cases := map[string]string{
		"https://api.vers.sh":          "vm.vers.sh",
		"https://api.staging.vers.sh/": "vm.staging.vers.sh",
		"http://127.0.0.1:8080":        "vm.versd.localhost",
		"http://localhost:9000":        "vm.versd.localhost",
		"http://[::1]:9000":            "vm.versd.localhost",
		"https://vers.example.com":     "vm.vers.example.com",
		"":                             "vm.vers.sh",
		"::not a url":                  "vm.vers.sh",
	}
	for in, want := range cases {
		if got := DeriveVMDomain(in); got != want {
			t.Errorf("DeriveVMDomain(%q) = %q, want %q", in, got, want)
		}
	}
	c, _ := New(Config{BaseURL: "https://api.vers.sh", APIKey: "k"})
	if c.SSHHost("abc") != "abc.vm.vers.sh" || c.SSHDialAddress("abc") != "abc.vm.vers.sh:443" {
		t.Fatalf("SSH host/address = %q %q", c.SSHHost("abc"), c.SSHDialAddress("abc"))
	}
	c, _ = New(Config{BaseURL: "http://127.0.0.1:1", APIKey: "k", SSHAddress: "127.0.0.1:2222"})
	if c.SSHHost("abc") != "abc.vm.versd.localhost" || c.SSHDialAddress("abc") != "127.0.0.1:2222" {
		t.Fatalf("SSH host/address = %q %q", c.SSHHost("abc"), c.SSHDialAddress("abc"))
	}
}
