package build

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vers-sh/terraform-provider-vers/internal/latencyproxy"
	"github.com/vers-sh/terraform-provider-vers/internal/tfharness"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// progressLog collects a build's progress lines.
type progressLog struct {
	mu     sync.Mutex
	events []Event
}

func (p *progressLog) add(e Event) {
	p.mu.Lock()
	p.events = append(p.events, e)
	p.mu.Unlock()
}

func (p *progressLog) contains(s string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.events {
		if strings.Contains(e.String(), s) {
			return true
		}
	}
	return false
}

const sftpFallbackNote = "falls back to SFTP"

// TestCopy_destinationRulesOverTar pins the cases the tar stream must get
// right beyond the main build test: an existing directory as a file's
// destination (the VM is asked), symlinks kept as links, names tar would
// need extensions for (long, spaces, quotes, non-ASCII), setuid from
// --chmod, and a file replacing a symlink.
func TestCopy_destinationRulesOverTar(t *testing.T) {
	ts := startServer(t)
	dir := t.TempDir()
	long := strings.Repeat("a-long-directory-name/", 6) + "file-with-a-long-name.txt"
	writeTree(t, dir, map[string]string{
		"one.txt":               "one\n",
		"deep/" + long:          "deep\n",
		"odd/a b 'c' \"d\".txt": "odd\n",
		"odd/ünï$(x).txt":       "uni\n",
	})
	if err := os.MkdirAll(filepath.Join(dir, "links"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"links/rel": "../one.txt", "links/abs": "/etc/passwd"} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	df := `FROM scratch
RUN mkdir -p /existing/dir && ln -s /nowhere /existing/was-link
COPY one.txt /existing/dir
COPY one.txt /newfile
COPY links/ /links/
COPY deep/ /deep/
COPY odd/ /odd/
COPY --chmod=4750 one.txt /suid
COPY one.txt /existing/was-link
`
	var log progressLog
	res, err := Execute(context.Background(), ts.client, prepare(t, dir, df), Options{BuildID: "tar-rules", Progress: log.add})
	if err != nil {
		t.Fatal(err)
	}
	if log.contains(sftpFallbackNote) {
		t.Fatal("busybox has tar; the copy must not fall back to SFTP")
	}
	vm := tfharness.BootVM(t, ts.client, res.CommitID)
	for want, argv := range map[string][]string{
		"one":            {"cat", "/existing/dir/one.txt"},
		"file one":       {"sh", "-c", "[ -f /newfile ] && echo file; cat /newfile"},
		"../one.txt":     {"readlink", "/links/rel"},
		"/etc/passwd":    {"readlink", "/links/abs"},
		"deep":           {"cat", "/deep/" + long},
		"odd":            {"cat", "/odd/a b 'c' \"d\".txt"},
		"uni":            {"cat", "/odd/ünï$(x).txt"},
		"4750 root":      {"stat", "-c", "%a %U", "/suid"},
		"file one 644":   {"sh", "-c", "[ -L /existing/was-link ] || echo file; cat /existing/was-link; stat -c %a /existing/was-link"},
		"755 0:0":        {"stat", "-c", "%a %u:%g", "/deep/a-long-directory-name"},
		"644 0:0":        {"stat", "-c", "%a %u:%g", "/odd/ünï$(x).txt"},
		"no chown list":  {"sh", "-c", "[ -e /" + chownListName + " ] || echo no chown list"},
		"existing dir 0": {"sh", "-c", "[ -d /existing/dir ] && echo existing dir; ls /existing/dir | grep -vc one.txt || true"},
	} {
		if got := strings.Join(strings.Fields(execIn(t, ts.client, vm, argv...)), " "); got != want {
			t.Errorf("%v = %q, want %q", argv, got, want)
		}
	}
}

// TestCopy_imageWithoutTarFallsBackToSFTP makes the script find no tar
// and checks the copy still lands, through SFTP, and that the log says so.
// (Busybox's shell runs its tar applet whatever is deleted from the image,
// so the test names a program that does not exist instead.)
func TestCopy_imageWithoutTarFallsBackToSFTP(t *testing.T) {
	old := tarProgram
	tarProgram = "vers-test-no-such-tar"
	t.Cleanup(func() { tarProgram = old })
	ts := startServer(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"conf/a.conf": "a\n", "conf/sub/b.conf": "b\n", "one.txt": "one\n"})
	df := `FROM scratch
WORKDIR /w
COPY conf/ conf/
COPY --chown=nobody one.txt .
`
	var log progressLog
	res, err := Execute(context.Background(), ts.client, prepare(t, dir, df), Options{BuildID: "no-tar", Progress: log.add})
	if err != nil {
		t.Fatal(err)
	}
	if !log.contains(sftpFallbackNote) {
		t.Fatal("the log does not say the copy fell back to SFTP")
	}
	vm := tfharness.BootVM(t, ts.client, res.CommitID)
	if got := execIn(t, ts.client, vm, "cat", "/w/conf/a.conf", "/w/conf/sub/b.conf", "/w/one.txt"); got != "a\nb\none" {
		t.Fatalf("copied contents = %q", got)
	}
	if got := execIn(t, ts.client, vm, "stat", "-c", "%U", "/w/one.txt"); got != "nobody" {
		t.Fatalf("--chown over SFTP: owner %q", got)
	}
}

// sparseFile makes a file of size bytes that takes no disk space here.
func sparseFile(t *testing.T, p string, size int64) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestCopy_cancelStopsMidFile cancels a build while one large file is on
// its way: the transfer must stop within a second (not at the end of the
// file) and the builder VM must be deleted as always.
func TestCopy_cancelStopsMidFile(t *testing.T) {
	ts := startServer(t)
	dir := t.TempDir()
	sparseFile(t, filepath.Join(dir, "huge.bin"), 1<<30)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cancelledAt time.Time
	stopped := make(chan time.Duration, 1)
	progress := func(e Event) {
		if strings.HasPrefix(e.Instruction, "COPY") && e.Status == "running" {
			ts.afterBoot(700*time.Millisecond, func() { cancelledAt = time.Now(); cancel() })
		}
		if strings.HasPrefix(e.Instruction, "COPY") && e.Status == "failed" {
			stopped <- time.Since(cancelledAt)
		}
	}
	_, err := Execute(ctx, ts.client, prepare(t, dir, "FROM scratch\nCOPY huge.bin /huge.bin\n"), Options{BuildID: "cancel-copy", Progress: progress})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	select {
	case d := <-stopped:
		// 1 GiB cannot cross in 0.7 s here, so a stop this fast is mid-file.
		if d > time.Second {
			t.Fatalf("the COPY stopped %v after cancellation, want within 1s", d)
		}
	default:
		t.Fatal("the COPY step never reported failing")
	}
	if n := len(ts.liveVMs(t)); n != 0 {
		t.Fatalf("%d VMs left after a cancelled COPY", n)
	}
}

// sshThroughProxy is a client to ts whose SSH connections go through a
// proxy the test can cut.
func sshThroughProxy(t *testing.T, ts *testServer) (*vers.Client, *latencyproxy.Proxy) {
	t.Helper()
	p, err := latencyproxy.Start("127.0.0.1:0", ts.srv.SSHAddress, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	pem, err := os.ReadFile(ts.srv.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c, err := vers.New(vers.Config{BaseURL: ts.srv.URL, APIKey: ts.srv.APIKey, VMDomain: ts.srv.VMDomain,
		SSHAddress: p.Addr(), SSHRootCAs: pool, MaxRetries: 2, UserAgent: "vers-tests"})
	if err != nil {
		t.Fatal(err)
	}
	return c, p
}

// cutAfter drops every connection through p once bytes have gone through
// it, and reports whether it did.
func cutAfter(p *latencyproxy.Proxy, bytes int64) (stop func() bool) {
	done := make(chan struct{})
	cut := make(chan bool, 1)
	go func() {
		for {
			select {
			case <-done:
				cut <- false
				return
			case <-time.After(5 * time.Millisecond):
			}
			if p.BytesUp() > bytes {
				p.CutConnections()
				<-done
				cut <- true
				return
			}
		}
	}()
	return func() bool { close(done); return <-cut }
}

// TestCopy_droppedConnection cuts the SSH link mid-copy: without --chown
// the copy is retried once on a new connection and the layer is complete;
// with --chown (not safely repeatable) the build fails saying why, and the
// builder VM is deleted.
func TestCopy_droppedConnection(t *testing.T) {
	ts := startServer(t)
	client, proxy := sshThroughProxy(t, ts)
	dir := t.TempDir()
	const size = 300 << 20
	sparseFile(t, filepath.Join(dir, "big.bin"), size)

	t.Run("retried once", func(t *testing.T) {
		var log progressLog
		stop := cutAfter(proxy, proxy.BytesUp()+40<<20)
		res, err := Execute(context.Background(), client, prepare(t, dir, "FROM scratch\nCOPY big.bin /big.bin\n"), Options{BuildID: "drop-1", Progress: log.add})
		if !stop() {
			t.Fatal("the copy finished before the link was cut; the test proves nothing")
		}
		if err != nil {
			t.Fatalf("a copy cut once must be retried, got %v", err)
		}
		if !log.contains("dropped during COPY") {
			t.Fatal("the log does not mention the retry")
		}
		vm := tfharness.BootVM(t, ts.client, res.CommitID)
		if got := execIn(t, ts.client, vm, "stat", "-c", "%s", "/big.bin"); got != "314572800" {
			t.Fatalf("/big.bin has %s bytes after the retry, want %d", got, size)
		}
	})

	t.Run("with --chown it fails clearly", func(t *testing.T) {
		stop := cutAfter(proxy, proxy.BytesUp()+40<<20)
		_, err := Execute(context.Background(), client, prepare(t, dir, "FROM scratch\nCOPY --chown=nobody big.bin /big.bin\n"), Options{BuildID: "drop-2"})
		if !stop() {
			t.Fatal("the copy finished before the link was cut; the test proves nothing")
		}
		if err == nil || !strings.Contains(err.Error(), "SSH connection to the builder VM dropped") || !strings.Contains(err.Error(), "Dockerfile:2") {
			t.Fatalf("error = %v, want the dropped connection named at Dockerfile:2", err)
		}
		if n := len(ts.liveVMs(t)); n != 0 {
			t.Fatalf("%d VMs left after a failed COPY", n)
		}
	})
}

// TestCopy_largeFilesInRanges sends files above bigFileThreshold beside
// the tar stream, in ranges over several channels: the bytes, mode and
// --chown owner must come out as for a small file.
func TestCopy_largeFilesInRanges(t *testing.T) {
	ts := startServer(t)
	dir := t.TempDir()
	data := make([]byte, 2*bigFileRange+12345) // three ranges, the last short
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	writeTree(t, dir, map[string]string{"big/a.bin": string(data), "big/b.bin": string(data[:bigFileThreshold]), "big/small.txt": "small\n"})
	sum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	res, err := Execute(context.Background(), ts.client, prepare(t, dir, "FROM scratch\nCOPY --chown=nobody --chmod=640 big/ /big/\n"), Options{BuildID: "big"})
	if err != nil {
		t.Fatal(err)
	}
	vm := tfharness.BootVM(t, ts.client, res.CommitID)
	for name, want := range map[string]string{"a.bin": sum(data), "b.bin": sum(data[:bigFileThreshold])} {
		got := strings.Fields(execIn(t, ts.client, vm, "sha256sum", "/big/"+name))
		if len(got) == 0 || got[0] != want {
			t.Errorf("/big/%s: sha256 %v, want %s", name, got, want)
		}
		if got := execIn(t, ts.client, vm, "stat", "-c", "%a %U", "/big/"+name); got != "640 nobody" {
			t.Errorf("/big/%s: mode and owner %q, want 640 nobody", name, got)
		}
	}
	if got := execIn(t, ts.client, vm, "cat", "/big/small.txt"); got != "small" {
		t.Errorf("/big/small.txt = %q", got)
	}
}
