package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/echoprovider"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// noSecretInState fails if the state holds the VM's private key, any line
// of its body, or a PEM "PRIVATE KEY" header anywhere.
type noSecretInState struct {
	key string
}

func (c noSecretInState) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	raw, err := json.Marshal(req.State)
	if err != nil {
		resp.Error = err
		return
	}
	state := string(raw)
	if strings.Contains(state, "PRIVATE KEY") {
		resp.Error = fmt.Errorf("the state contains a PEM private key header")
		return
	}
	for _, line := range strings.Split(c.key, "\n") {
		if len(line) >= 16 && !strings.Contains(line, "PRIVATE KEY") && strings.Contains(state, line) {
			resp.Error = fmt.Errorf("the state contains material of the VM's private key")
			return
		}
	}
}

func TestAccVMSSHEphemeral(t *testing.T) {
	c := testClient(t)
	ch := sharedChain(t)
	ctx := context.Background()
	vm, err := c.CreateVMFromCommit(ctx, vers.FromCommitRequest{CommitID: ch.Root})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = c.DeleteVM(context.Background(), vm.VMID) })
	key, err := c.GetVMSSHKey(ctx, vm.VMID)
	if err != nil {
		t.Fatal(err)
	}
	_, portText, err := net.SplitHostPort(accServer.SSHAddress)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.ParseInt(portText, 10, 64)

	// The echo provider copies what it is configured with into echo.ssh.data,
	// which is how an ephemeral value can be inspected. Only facts about the
	// key are echoed, so the key itself never reaches the state.
	config := fmt.Sprintf(`
resource "vers_vm" "v" {
  commit_id = %q
}

ephemeral "vers_vm_ssh" "s" {
  vm_id = vers_vm.v.id
}

ephemeral "vers_vm_ssh" "fixed" {
  vm_id = %q
}

provider "echo" {
  data = {
    host         = ephemeral.vers_vm_ssh.fixed.host
    port         = ephemeral.vers_vm_ssh.fixed.port
    user         = ephemeral.vers_vm_ssh.fixed.user
    dial_address = ephemeral.vers_vm_ssh.fixed.dial_address
    pem_header   = startswith(nonsensitive(ephemeral.vers_vm_ssh.fixed.private_key), "-----BEGIN OPENSSH PRIVATE KEY-----\n")
    matches_api  = nonsensitive(sha256(ephemeral.vers_vm_ssh.fixed.private_key)) == %q
    other_vm_key = startswith(nonsensitive(ephemeral.vers_vm_ssh.s.private_key), "-----BEGIN OPENSSH PRIVATE KEY-----")
  }
}

resource "echo" "ssh" {}
`, ch.Root, vm.VMID, sha256Hex(key.SSHPrivateKey))

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_10_0)},
		ProtoV6ProviderFactories: sshTestFactories(),
		Steps: []resource.TestStep{{
			Config: config,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("echo.ssh", tfjsonpath.New("data").AtMapKey("host"), knownvalue.StringExact(vm.VMID+"."+accServer.VMDomain)),
				statecheck.ExpectKnownValue("echo.ssh", tfjsonpath.New("data").AtMapKey("port"), knownvalue.Int64Exact(port)),
				statecheck.ExpectKnownValue("echo.ssh", tfjsonpath.New("data").AtMapKey("user"), knownvalue.StringExact("root")),
				statecheck.ExpectKnownValue("echo.ssh", tfjsonpath.New("data").AtMapKey("dial_address"), knownvalue.StringExact(accServer.SSHAddress)),
				statecheck.ExpectKnownValue("echo.ssh", tfjsonpath.New("data").AtMapKey("pem_header"), knownvalue.Bool(true)),
				statecheck.ExpectKnownValue("echo.ssh", tfjsonpath.New("data").AtMapKey("matches_api"), knownvalue.Bool(true)),
				statecheck.ExpectKnownValue("echo.ssh", tfjsonpath.New("data").AtMapKey("other_vm_key"), knownvalue.Bool(true)),
				noSecretInState{key: key.SSHPrivateKey},
			},
		}},
	})
}

func sshTestFactories() map[string]func() (tfprotov6.ProviderServer, error) {
	f := map[string]func() (tfprotov6.ProviderServer, error){"echo": echoprovider.NewProviderServer()}
	for k, v := range testAccProtoV6ProviderFactories {
		f[k] = v
	}
	return f
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
