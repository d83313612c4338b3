package provider

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/vers-sh/terraform-provider-vers/internal/tfharness"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
	"github.com/vers-sh/terraform-provider-vers/internal/versd"
)

// testAccProtoV6ProviderFactories serve the provider in-process to the real
// terraform CLI that terraform-plugin-testing drives.
var testAccProtoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"vers": providerserver.NewProtocol6WithError(New("test")()),
}

// accServer is the versd every acceptance test in this package talks to.
var accServer *versd.Server

// TestMain starts one versd on loopback for the acceptance tests and points
// the provider at it through the same environment variables users set.
func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if os.Getenv("TF_ACC") == "" {
		return m.Run()
	}
	if os.Getenv("TF_ACC_TERRAFORM_PATH") == "" {
		if _, err := exec.LookPath("terraform"); err != nil {
			fmt.Fprintln(os.Stderr, "acceptance tests need the terraform CLI: put terraform (1.10 or newer) on PATH or set TF_ACC_TERRAFORM_PATH to its location.")
			return 1
		}
	}
	dir, err := os.MkdirTemp("", "versd-acc-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	// A second organisation, for the tests of what crosses organisations
	// (forks of public repositories) and what must not.
	srv, err := versd.Start(ctx, versd.Options{DataDir: dir, APIKey: "acc-test-key-" + fmt.Sprint(time.Now().UnixNano()),
		Orgs: []versd.OrgKey{{Name: accOtherOrg, APIKey: "acc-other-key-" + fmt.Sprint(time.Now().UnixNano())}}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot start versd for the acceptance tests:", err)
		return 1
	}
	defer srv.Close()
	accServer = srv
	for k, v := range map[string]string{
		"VERS_API_KEY": srv.APIKey, "VERS_BASE_URL": srv.URL, "VERS_VM_DOMAIN": srv.VMDomain,
		"VERS_SSH_ADDRESS": srv.SSHAddress, "VERS_SSH_CA_FILE": srv.CAFile,
	} {
		os.Setenv(k, v)
	}
	return m.Run()
}

// testAccPreCheck guards tests that need the in-process versd.
func testAccPreCheck(t *testing.T) {
	t.Helper()
	// Without TF_ACC, acceptance tests skip (the Go and plugin-testing
	// convention), so plain `go test ./...` runs the unit tests only. Many
	// tests need the API client before resource.Test gets to skip them.
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 to run it against an in-process versd (make test does)")
	}
	if accServer == nil {
		t.Fatal("TF_ACC is set but the test versd did not start; see the log above")
	}
}

// testClient is an API client to the test versd, for out-of-band changes
// (drift) and for checking what Terraform did.
func testClient(t *testing.T) *vers.Client {
	t.Helper()
	testAccPreCheck(t)
	return tfharness.Client(t, accServer, 3)
}

// uniqueName keeps tests independent on the shared server.
func uniqueName(t *testing.T, prefix string) string {
	t.Helper()
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%1_000_000_000)
}
