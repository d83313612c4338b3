package versd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/vers-sh/terraform-provider-vers/internal/versd/sandbox"
	"github.com/vers-sh/terraform-provider-vers/internal/versd/sshgw"
)

// sandboxRuntime adapts *sandbox.Manager to vmRuntime, translating its
// errors into the runtime errors the handlers map to HTTP statuses.
type sandboxRuntime struct{ m *sandbox.Manager }

func openSandbox(dataDir, baseRootfs, runtimePath string, logf func(string, ...any)) (vmRuntime, error) {
	m, err := sandbox.New(sandbox.Options{DataDir: dataDir, BaseRootfs: baseRootfs, Runtime: runtimePath, Logf: logf})
	if err != nil {
		return nil, err
	}
	return sandboxRuntime{m}, nil
}

// sandboxErr keeps the sandbox's message but makes errors.Is match ours.
func sandboxErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sandbox.ErrNotFound):
		return fmt.Errorf("%w (%v)", errVMNotFound, err)
	case errors.Is(err, sandbox.ErrPaused):
		return fmt.Errorf("%w (%v)", errVMPaused, err)
	case errors.Is(err, sandbox.ErrDead):
		return fmt.Errorf("%w (%v)", errVMDead, err)
	case errors.Is(err, sandbox.ErrNotRunning):
		return fmt.Errorf("%w (%v)", errVMNotRunning, err)
	}
	return err
}

func (r sandboxRuntime) BaseLayer() string { return r.m.BaseLayer() }

func (r sandboxRuntime) StartVM(ctx context.Context, id string, layers []string, lim vmLimits) error {
	return sandboxErr(r.m.StartVM(ctx, id, layers, sandbox.Limits{MemMiB: lim.MemMiB, VCPUs: lim.VCPUs, FsMiB: lim.FsMiB}))
}

func (r sandboxRuntime) NewLayerID() (string, error) { return r.m.NewLayerID() }

func (r sandboxRuntime) CommitAs(ctx context.Context, id, layerID string, keepPaused bool) ([]string, error) {
	layers, err := r.m.CommitAs(ctx, id, layerID, keepPaused)
	return layers, sandboxErr(err)
}

func (r sandboxRuntime) RecoverCommit(vmID, layerID string) (bool, error) {
	return r.m.RecoverCommit(vmID, layerID)
}

func (r sandboxRuntime) Pause(id string) error    { return sandboxErr(r.m.Pause(id)) }
func (r sandboxRuntime) Resume(id string) error   { return sandboxErr(r.m.Resume(id)) }
func (r sandboxRuntime) DeleteVM(id string) error { return sandboxErr(r.m.DeleteVM(id)) }

func (r sandboxRuntime) VMs() ([]string, error)           { return r.m.VMs() }
func (r sandboxRuntime) Layers() ([]string, error)        { return r.m.Layers() }
func (r sandboxRuntime) DeleteLayers(ids ...string) error { return r.m.DeleteLayers(ids...) }

func (r sandboxRuntime) Exec(ctx context.Context, id string, spec execSpec, stdin io.Reader, stdout, stderr io.Writer) (sshgw.ExitStatus, error) {
	sspec := sandbox.ExecSpec{Command: spec.Command, Env: spec.Env, WorkingDir: spec.WorkingDir, TimeoutSecs: spec.TimeoutSecs}
	if spec.TTY != nil {
		sspec.TTY = &sandbox.TTYSpec{Term: spec.TTY.Term, Rows: spec.TTY.Rows, Cols: spec.TTY.Cols}
	}
	var ctl chan sandbox.Control
	if spec.Control != nil {
		ctl = make(chan sandbox.Control)
		done := make(chan struct{})
		defer close(done)
		go func() {
			for {
				select {
				case c := <-spec.Control:
					sc := sandbox.Control{Signal: c.Signal}
					if c.Resize != nil {
						sc.Resize = &sandbox.TTYSpec{Rows: clampUint16(c.Resize.Rows), Cols: clampUint16(c.Resize.Cols)}
					}
					select {
					case ctl <- sc:
					case <-done:
						return
					}
				case <-done:
					return
				}
			}
		}()
	}
	st, err := r.m.ExecInteractive(ctx, id, sspec, stdin, stdout, stderr, ctl)
	return sshgw.ExitStatus{Code: st.Code, Signal: st.Signal, CoreDumped: st.CoreDumped}, sandboxErr(err)
}

func (r sandboxRuntime) SFTP(ctx context.Context, id string) (io.ReadWriteCloser, error) {
	rw, err := r.m.SFTP(ctx, id)
	return rw, sandboxErr(err)
}

func (r sandboxRuntime) Dead(id string) bool {
	state, err := r.m.State(id)
	return err == nil && state == "dead"
}

func (r sandboxRuntime) Dial(ctx context.Context, id, host string, port int) (net.Conn, error) {
	conn, err := r.m.Dial(ctx, id, host, port)
	return conn, sandboxErr(err)
}

// clampUint16 keeps absurd terminal sizes from wrapping around.
func clampUint16(v uint32) uint16 { return uint16(min(v, 0xffff)) }

func (r sandboxRuntime) Close() error { return r.m.Close() }
