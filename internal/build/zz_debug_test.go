package build

import (
	"context"
	"testing"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

func TestZZDebug(t *testing.T) {
	ts := startServer(t)
	ctx := context.Background()
	one := int64(1)
	vm, err := ts.client.CreateVMNewRoot(ctx, vers.NewRootRequest{VMConfig: vers.VMConfig{VcpuCount: &one}}, true)
	if err != nil { t.Fatal(err) }
	defer ts.client.DeleteVM(ctx, vm.VMID)
	for _, sc := range []string{"echo a; echo oops >&2; exit 3", "for i in $(seq 1 80); do echo line$i; done; echo oops >&2; exit 3"} {
	st, err := ts.client.ExecStream(ctx, vm.VMID, vers.ExecRequest{Command: []string{"/bin/sh", "-c", sc}})
	if err != nil { t.Fatal(err) }
	tb := &tailBuffer{max: 200}
	code, err := st.Copy(tb, tb)
	t.Logf("%d %v %q", code, err, tb.String())
	}
}
