package build

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vers-sh/terraform-provider-vers/internal/tfharness"
)

// scratchDockerfile exercises every supported instruction on a busybox
// root. Debian's busybox has no adduser applet, so the user is written to
// /etc/passwd by hand.
const scratchDockerfile = `FROM scratch
ENV GREETING=hello APP_HOME=/srv/app
WORKDIR $APP_HOME
COPY conf/ /etc/app/
COPY --chmod=0750 bin/tool /usr/local/bin/
COPY notes.txt .
COPY notes.txt renamed.txt
RUN echo app:x:1000:1000::/home/app:/bin/sh >> /etc/passwd && echo app:x:1000: >> /etc/group && echo "$GREETING from $(pwd)" > /tmp/greeting
COPY --chown=app:app data data/
USER app
RUN id -un > /tmp/who && pwd > /tmp/where && touch data/owned-by-app
LABEL org.example.team=infra
EXPOSE 8080/tcp
CMD ["/usr/local/bin/tool", "--serve"]
COPY last.txt /opt/last.txt
`

func scratchContext(t *testing.T) string {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"conf/app.conf":      "port=8080\n",
		"conf/nested/x.conf": "x\n",
		"bin/tool":           "#!/bin/sh\necho tool\n",
		"notes.txt":          "notes\n",
		"data/one":           "1\n",
		"last.txt":           "v1\n",
	})
	if err := os.Chmod(filepath.Join(dir, "bin/tool"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestExecute_scratchBuildCacheAndIncrementalRebuild(t *testing.T) {
	ts := startServer(t)
	ctx := context.Background()
	dir := scratchContext(t)

	first, err := Execute(ctx, ts.client, prepare(t, dir, scratchDockerfile), Options{BuildID: "b1"})
	if err != nil {
		t.Fatal(err)
	}
	if first.VMsBooted != 1 || ts.vmsBooted() != 1 {
		t.Fatalf("first build booted %d VMs (versd counted %d), want 1", first.VMsBooted, ts.vmsBooted())
	}
	if len(first.Layers) != 8 || first.Misses != 8 || first.Hits != 0 {
		t.Fatalf("layers=%d misses=%d hits=%d, want 8 misses", len(first.Layers), first.Misses, first.Hits)
	}
	if n := len(ts.liveVMs(t)); n != 0 {
		t.Fatalf("%d VMs left on versd after the build", n)
	}
	if first.Image.WorkingDir != "/srv/app" || first.Image.User != "app" ||
		strings.Join(first.Image.Cmd, " ") != "/usr/local/bin/tool --serve" ||
		strings.Join(first.Image.ExposedPorts, ",") != "8080/tcp" || first.Image.Labels["org.example.team"] != "infra" {
		t.Fatalf("image metadata = %+v", first.Image)
	}

	t.Run("the commit holds the build", func(t *testing.T) {
		vm := tfharness.BootVM(t, ts.client, first.CommitID)
		checks := map[string][]string{
			"port=8080":           {"cat", "/etc/app/app.conf"},
			"x":                   {"cat", "/etc/app/nested/x.conf"},
			"750":                 {"stat", "-c", "%a", "/usr/local/bin/tool"},
			"notes":               {"cat", "/srv/app/notes.txt", "/srv/app/renamed.txt"},
			"hello from /srv/app": {"cat", "/tmp/greeting"},
			"app app":             {"stat", "-c", "%U %G", "/srv/app/data/one"},
			"app":                 {"cat", "/tmp/who"},
			"/srv/app":            {"cat", "/tmp/where"},
			"app 644":             {"stat", "-c", "%U %a", "/srv/app/data/owned-by-app"},
			"v1":                  {"cat", "/opt/last.txt"},
			"644 755":             {"sh", "-c", "stat -c %a /etc/app/app.conf; stat -c %a /etc/app/nested"},
			"root":                {"stat", "-c", "%U", "/etc/app/app.conf"},
		}
		for want, argv := range checks {
			got := strings.Join(strings.Fields(execIn(t, ts.client, vm, argv...)), " ")
			if want == "notes" {
				want = "notes notes"
			}
			if got != want {
				t.Errorf("%v = %q, want %q", argv, got, want)
			}
		}
	})

	t.Run("second build is fully cached", func(t *testing.T) {
		ts.srv.ResetStats()
		again, err := Execute(ctx, ts.client, prepare(t, dir, scratchDockerfile), Options{BuildID: "b2"})
		if err != nil {
			t.Fatal(err)
		}
		if again.CommitID != first.CommitID || again.VMsBooted != 0 || ts.vmsBooted() != 0 || again.Hits != 8 {
			t.Fatalf("commit %s vs %s, booted %d (versd %d), hits %d", again.CommitID, first.CommitID, again.VMsBooted, ts.vmsBooted(), again.Hits)
		}
		if n := ts.srv.Stats().Commits; n != 0 {
			t.Fatalf("a cached build made %d commits", n)
		}
	})

	t.Run("a change used only by the last COPY rebuilds one layer", func(t *testing.T) {
		writeTree(t, dir, map[string]string{"last.txt": "v2\n"})
		ts.srv.ResetStats()
		third, err := Execute(ctx, ts.client, prepare(t, dir, scratchDockerfile), Options{BuildID: "b3"})
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range third.Layers {
			last := i == len(third.Layers)-1
			if l.Cached == last {
				t.Errorf("layer %d (%s) cached=%v", i, l.Instruction, l.Cached)
			}
			if !last && l.CommitID != first.Layers[i].CommitID {
				t.Errorf("layer %d commit changed", i)
			}
		}
		if third.CommitID == first.CommitID || ts.vmsBooted() != 1 || third.VMsBooted != 1 {
			t.Fatalf("commit %s (first %s), versd booted %d", third.CommitID, first.CommitID, ts.vmsBooted())
		}
		vm := tfharness.BootVM(t, ts.client, third.CommitID)
		if got := execIn(t, ts.client, vm, "cat", "/opt/last.txt"); got != "v2" {
			t.Fatalf("/opt/last.txt = %q", got)
		}
	})
}
