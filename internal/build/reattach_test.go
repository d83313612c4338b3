package build

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vers-sh/terraform-provider-vers/internal/tfharness"
	"github.com/vers-sh/terraform-provider-vers/internal/versd"
)

// cutFirstStream aborts the first exec/stream response after its first
// write, the way a proxy timeout or a dropped connection would.
func cutFirstStream(cuts *atomic.Int32) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/exec/stream") && cuts.Add(1) == 1 {
				next.ServeHTTP(&cuttingWriter{ResponseWriter: w}, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

type cuttingWriter struct {
	http.ResponseWriter
	writes int
}

func (c *cuttingWriter) Write(p []byte) (int, error) {
	c.writes++
	if c.writes > 1 {
		panic(http.ErrAbortHandler) // the client sees the body end mid-stream
	}
	n, err := c.ResponseWriter.Write(p)
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
	return n, err
}

func (c *cuttingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// A RUN whose output stream is cut re-attaches: the command runs once, the
// step succeeds, and no output is lost or duplicated.
func TestRunReattachesToACutStream(t *testing.T) {
	var cuts atomic.Int32
	c := startServer(t, func(o *versd.Options) { o.Middleware = cutFirstStream(&cuts) }).client
	dir := t.TempDir()
	prep := prepare(t, dir, "FROM scratch\nRUN for i in 1 2 3 4 5; do echo line$i; echo ran >> /runs; sleep 0.2; done\n")
	res, err := Execute(context.Background(), c, prep, Options{BuildID: "reattach"})
	if err != nil {
		t.Fatalf("a cut stream must be re-attached, got: %v", err)
	}
	if cuts.Load() < 1 {
		t.Fatal("the test did not cut any stream")
	}
	vm := tfharness.BootVM(t, c, res.CommitID)
	if got := execIn(t, c, vm, "sh", "-c", "wc -l < /runs"); got != "5" {
		t.Fatalf("the command ran %s loop iterations in total, want 5 (run once)", got)
	}
}
