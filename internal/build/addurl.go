package build

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"syscall"
	"time"

	"github.com/vers-sh/terraform-provider-vers/internal/buildcontext"
	"github.com/vers-sh/terraform-provider-vers/internal/dockerfile"
)

// ADD <url> is fetched by the engine, on the machine that runs the build,
// as BuildKit fetches on its builder rather than in the container: the
// image needs no curl or wget, the builder VM needs no network (versd's VMs
// have none), --checksum is verified before a byte reaches the VM, and the
// file then travels like a COPY, in the tar stream. The runner's network is
// therefore the one that must reach the URL.

// fetched is a downloaded ADD source in a temporary file.
type fetched struct {
	path    string
	name    string // file name when the destination is a directory
	size    int64
	modTime time.Time
	sum     string // "sha256:<hex>"
}

// ChecksumMismatchError is an ADD <url> whose download does not have the
// --checksum the Dockerfile names.
type ChecksumMismatchError struct {
	URL       string // redacted: no user or password
	Got, Want string
}

func (e *ChecksumMismatchError) Error() string {
	return fmt.Sprintf("checksum mismatch for %s: got %s, want %s (if the file changed upstream on purpose, put the new checksum in --checksum)", e.URL, e.Got, e.Want)
}

// redactURL hides a password in the URL, for messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the URL"
	}
	return u.Redacted()
}

// fetchClient downloads ADD sources. It refuses link-local addresses,
// where cloud metadata services live (169.254.169.254): a Dockerfile must
// not be able to copy the runner's cloud credentials into an image. The
// check is on the address actually dialled, after DNS and each redirect.
var fetchClient = &http.Client{Transport: fetchTransport()}

func fetchTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: refuseLinkLocal}
	t.DialContext = d.DialContext
	return t
}

func refuseLinkLocal(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip != nil && (ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified()) {
		return fmt.Errorf("ADD refuses to download from %s: link-local addresses hold cloud metadata services", ip)
	}
	return nil
}

// fetchURL downloads raw into a temporary file (the caller removes it),
// hashing it on the way, and checks want ("sha256:<hex>", or "" for none).
func fetchURL(ctx context.Context, raw, want string) (*fetched, error) {
	shown := redactURL(raw)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return nil, fmt.Errorf("downloading %s: %w", shown, err)
	}
	req.Header.Set("User-Agent", "vers-build")
	resp, err := fetchClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text repeats the URL, password included
		}
		return nil, fmt.Errorf("downloading %s: %w", shown, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("downloading %s: HTTP %s", shown, resp.Status)
	}
	f, err := os.CreateTemp("", "vers-build-add-*")
	if err != nil {
		return nil, &localError{fmt.Errorf("downloading %s: %w", shown, err)}
	}
	keep := false
	defer func() {
		f.Close()
		if !keep {
			os.Remove(f.Name())
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), resp.Body)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("downloading %s: %w", shown, err)
	}
	if err := f.Close(); err != nil {
		return nil, &localError{fmt.Errorf("downloading %s: %w", shown, err)}
	}
	out := &fetched{path: f.Name(), name: urlFileName(raw), size: n, sum: "sha256:" + hex.EncodeToString(h.Sum(nil))}
	if want != "" && out.sum != want {
		return nil, &ChecksumMismatchError{URL: shown, Got: out.sum, Want: want}
	}
	// Docker gives the file the server's Last-Modified time.
	out.modTime = time.Now().Truncate(time.Second)
	if lm, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		out.modTime = lm
	}
	keep = true
	return out, nil
}

// urlFileName is the name a download gets in a destination directory: the
// last element of the URL's path, as Docker takes it.
func urlFileName(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "index.html"
	}
	name := path.Base(u.Path)
	if name == "." || name == "/" || name == "" {
		return "index.html"
	}
	return name
}

// addURLStep runs ADD <url>: the download goes into the builder through
// the COPY tar stream (which also creates the WORKDIR, applies --chown and
// syncs). Docker gives a downloaded file mode 0600 unless --chmod says
// otherwise.
func (ex *executor) addURLStep(ctx context.Context, step dockerfile.Step) (synced bool, err error) {
	cp := step.Copy
	start := time.Now()
	f, err := fetchURL(ctx, cp.URL, cp.Checksum)
	if err != nil {
		return false, err
	}
	defer os.Remove(f.path)
	mode := int64(0o600)
	if m, ok := cp.FileMode(); ok {
		mode = tarMode(m)
	}
	dest := cleanDest(cp)
	other := path.Dir(dest)
	if cp.DestIsDir {
		other = dest
	}
	t := tarTarget{WorkDir: step.WorkDir, User: step.User, Dest: dest, DirIfDir: dest, DirOther: other, Chown: cp.Chown}
	write := func(tw *tar.Writer, destIsDir bool) error {
		target := dest
		if cp.DestIsDir || destIsDir {
			target = path.Join(dest, f.name)
		}
		hdr := &tar.Header{Name: strings.TrimPrefix(target, "/"), Typeflag: tar.TypeReg, Mode: mode, ModTime: f.modTime}
		src := buildcontext.File{Rel: "the download of " + redactURL(cp.URL), Abs: f.path, Size: f.size}
		if err := writeFileEntry(ctx, tw, hdr, src, make([]byte, cancelCheckEvery)); err != nil {
			return err
		}
		if cp.Chown != "" {
			return writeChownList(tw, []upload{{dest: target}}, f.modTime)
		}
		return nil
	}
	conn, err := ex.sshConn(ctx)
	if err != nil {
		return false, err
	}
	if err := streamTar(ctx, conn, t, write); err != nil {
		if errors.Is(err, errNoTar) {
			return false, fmt.Errorf("the image has no tar, which ADD uses to put the downloaded file in place; download it in a RUN step instead (RUN wget -O %s %s)", dest, redactURL(cp.URL))
		}
		return false, err
	}
	d := time.Since(start)
	ex.progress(Event{Status: "copied", Instruction: summarize(step), Line: step.StartLine, Duration: d,
		Message: fmt.Sprintf("%s: downloaded and sent %.1f MB (%s) in %.2fs", summarize(step), float64(f.size)/1e6, f.sum, d.Seconds())})
	return true, nil
}
