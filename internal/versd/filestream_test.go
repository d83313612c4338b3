package versd

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestReadFileUploadShapes(t *testing.T) {
	for _, tc := range []struct {
		name, body, want, errPart string
		path                      string
	}{
		{"plain", `{"path":"/a","content_b64":"aGVsbG8="}`, "hello", "", "/a"},
		{"content first, spaces", " {\n \"content_b64\" : \"aGk=\" , \"path\" : \"/b\", \"mode\": 420, \"create_dirs\": true }\n", "hi", "", "/b"},
		{"escaped slash", `{"path":"/c","content_b64":"Pz8\/"}`, "???", "", "/c"},
		{"unknown nested field", `{"x":{"y":[1,"}",{"z":null}]},"path":"/d","content_b64":""}`, "", "", "/d"},
		{"escaped path", `{"path":"/e\"q","content_b64":"aGk="}`, "hi", "", `/e"q`},
		{"trailing garbage", `{"path":"/a","content_b64":""} {}`, "", "unexpected data", ""},
		{"bad base64", `{"path":"/a","content_b64":"!!"}`, "", "base64", ""},
		{"other escape in content", `{"path":"/a","content_b64":"aG\u0041="}`, "", "base64", ""},
		{"path wrong type", `{"path":5,"content_b64":""}`, "", "wrong type", ""},
		{"content not a string", `{"path":"/a","content_b64":5}`, "", "must be a string", ""},
		{"cut short", `{"path":"/a","content_b64":"aGVs`, "", "cut short", ""},
		{"empty", ``, "", "empty", ""},
		{"array", `[1]`, "", "malformed JSON", ""},
		{"twice", `{"content_b64":"","content_b64":""}`, "", "twice", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := readFileUpload(strings.NewReader(tc.body), t.TempDir())
			if tc.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errPart) {
					t.Fatalf("error %v, want one mentioning %q", err, tc.errPart)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer u.Content.Close()
			got, _ := io.ReadAll(u.Content)
			if string(got) != tc.want || u.Path != tc.path || u.Size != int64(len(tc.want)) {
				t.Fatalf("content %q path %q size %d, want %q %q", got, u.Path, u.Size, tc.want, tc.path)
			}
		})
	}
}

// rssBytes reads the resident set size of this process (the test server
// runs in it).
func rssBytes(t testing.TB) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// uploadBody streams {"path":..., "content_b64": base64(size bytes)} without
// holding it in memory.
func uploadBody(path string, size int64) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		fmt.Fprintf(pw, `{"path":%q,"create_dirs":true,"content_b64":"`, path)
		enc := base64.NewEncoder(base64.StdEncoding, pw)
		_, _ = io.Copy(enc, io.LimitReader(zeroReader{}, size))
		enc.Close()
		io.WriteString(pw, `"}`)
		pw.Close()
	}()
	return pr
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// concurrentUploads PUTs n files of size bytes at once and returns the peak
// RSS growth seen while they ran.
func concurrentUploads(t testing.TB, s *Server, vm string, n int, size int64) int64 {
	base := rssBytes(t)
	var peak atomic.Int64
	stop := make(chan struct{})
	go func() {
		for {
			if d := rssBytes(t) - base; d > peak.Load() {
				peak.Store(d)
			}
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("PUT", s.URL+"/api/v1/vm/"+vm+"/files", uploadBody(fmt.Sprintf("/up/%d.bin", i), size))
			req.Header.Set("Authorization", "Bearer "+s.APIKey)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(body), fmt.Sprintf(`"size":%d`, size)) {
				errs <- fmt.Errorf("upload %d: %d %s", i, resp.StatusCode, body)
			}
		}()
	}
	wg.Wait()
	close(stop)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return peak.Load()
}

// Eight concurrent 16 MiB uploads (21 MiB bodies) used to cost about 60 MiB
// each in memory; streamed, the server's footprint barely moves.
func TestConcurrentLargeUploadsStream(t *testing.T) {
	s := startTest(t, "")
	c := newClient(t, s)
	vm := c.newRoot()
	const n, size = 8, 16 << 20
	grew := concurrentUploads(t, s, vm, n, size)
	t.Logf("%d concurrent uploads of %d MiB: RSS grew at most %d MiB", n, size>>20, grew>>20)
	if grew > 120<<20 {
		t.Fatalf("RSS grew %d MiB during %d uploads of %d MiB: bodies are held in memory", grew>>20, n, size>>20)
	}
	out := c.execOK(vm, "wc -c < /up/3.bin")
	if strings.TrimSpace(out) != strconv.Itoa(size) {
		t.Fatalf("uploaded file has %s bytes, want %d", out, size)
	}
}

// BenchmarkConcurrentUploads is the case: 16 uploads of 47 MiB at once (63 MiB bodies, under the 64 MiB limit).
func BenchmarkConcurrentUploads(b *testing.B) {
	s := startTest(b, "")
	c := newClient(b, s)
	vm := c.newRoot()
	var worst int64
	for range b.N {
		worst = max(worst, concurrentUploads(b, s, vm, 16, 47<<20))
	}
	b.ReportMetric(float64(worst>>20), "MiB-peak-RSS-growth")
}
