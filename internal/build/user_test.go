package build

import (
	"context"
	"strings"
	"testing"

	"github.com/vers-sh/terraform-provider-vers/internal/tfharness"
)

// userDockerfile runs RUN steps as USER in every form Docker accepts and
// records who they ran as ("uid gid groups... HOME") under /out. Busybox
// has no adduser, so users and groups are appended by hand; the base root
// already has nobody (65534) and nogroup.
const userDockerfile = `FROM scratch
RUN echo app:x:1000:1000::/home/app:/bin/sh >> /etc/passwd && \
    printf 'app:x:1000:\ngrp:x:2000:root,app\nother:x:3000:\n' >> /etc/group && \
    mkdir -p /home/app /etc/pre/sub && mkdir -m 1777 /out && \
    echo keep > /etc/pre/existing && echo keep > /etc/pre/sub/old
USER app
RUN echo "$(id -u) $(id -g) $(id -G) $HOME" > /out/by-name
USER 1000
RUN echo "$(id -u) $(id -g) $(id -G) $HOME" > /out/by-uid
USER 4242:4343
RUN echo "$(id -u) $(id -g) $(id -G) $HOME" > /out/bare-uid
USER 65534:65534
RUN echo "$(id -u) $(id -g) $(id -G) $HOME" > /out/nobody
USER app:other
RUN echo "$(id -u) $(id -g) $(id -G) $HOME" > /out/name-and-group
ENV HOME=/custom
USER app
RUN echo "$HOME" > /out/env-home
WORKDIR /srv/deep/dir
RUN touch made-by-app
USER 4242:4343
WORKDIR /etc/pre/bare
RUN touch made-by-bare
USER app
WORKDIR /wd-copy
COPY top.conf .
USER root
COPY --chown=app:grp conf/ /etc/pre/
COPY --chown=1000:2000 empty/ /newroot/a/b/
`

func TestExecute_userWorkdirAndChown(t *testing.T) {
	ts := startServer(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"top.conf":      "top\n",
		"conf/top.conf": "top\n",
		"conf/sub/new":  "new\n",
		"empty/":        "",
	})
	res, err := Execute(context.Background(), ts.client, prepare(t, dir, userDockerfile), Options{BuildID: "users"})
	if err != nil {
		t.Fatal(err)
	}
	vm := tfharness.BootVM(t, ts.client, res.CommitID)
	cat := func(name string) string { return execIn(t, ts.client, vm, "cat", "/out/"+name) }
	owner := func(p string) string { return execIn(t, ts.client, vm, "stat", "-c", "%u:%g", p) }

	t.Run("USER runs as Docker resolves it", func(t *testing.T) {
		for file, want := range map[string]string{
			// Primary group and /etc/group memberships; HOME from /etc/passwd.
			"by-name": "1000 1000 1000 2000 /home/app",
			"by-uid":  "1000 1000 1000 2000 /home/app",
			// No /etc/passwd entry: the ids as given, HOME /.
			"bare-uid": "4242 4343 4343 /",
			"nobody":   "65534 65534 65534 /nonexistent",
			// An explicit group replaces the primary and the memberships.
			"name-and-group": "1000 3000 3000 /home/app",
			// ENV HOME wins over /etc/passwd.
			"env-home": "/custom",
		} {
			if got := strings.Join(strings.Fields(cat(file)), " "); got != want {
				t.Errorf("/out/%s = %q, want %q", file, got, want)
			}
		}
	})

	t.Run("WORKDIR creates only missing directories, owned by USER", func(t *testing.T) {
		for p, want := range map[string]string{
			"/srv":                       "0:0", // in the base root: keeps its owner
			"/srv/deep":                  "1000:1000",
			"/srv/deep/dir":              "1000:1000",
			"/srv/deep/dir/made-by-app":  "1000:1000",
			"/etc/pre":                   "0:0", // existed: keeps its owner
			"/etc/pre/bare":              "4242:4343",
			"/etc/pre/bare/made-by-bare": "4242:4343",
			"/wd-copy":                   "1000:1000",
			"/wd-copy/top.conf":          "0:0", // COPY ignores USER
			"/home/app":                  "0:0",
		} {
			if got := owner(p); got != want {
				t.Errorf("owner of %s = %s, want %s", p, got, want)
			}
		}
	})

	t.Run("COPY --chown re-owns only what it wrote", func(t *testing.T) {
		for p, want := range map[string]string{
			"/etc":              "0:0",
			"/":                 "0:0",
			"/etc/pre/existing": "0:0",
			"/etc/pre/sub/old":  "0:0",
			"/etc/pre/top.conf": "1000:2000",
			"/etc/pre/sub/new":  "1000:2000",
			"/etc/pre/sub":      "1000:2000", // a copied directory, as BuildKit does
			"/newroot":          "1000:2000", // created by the COPY
			"/newroot/a/b":      "1000:2000",
		} {
			if got := owner(p); got != want {
				t.Errorf("owner of %s = %s, want %s", p, got, want)
			}
		}
	})

	t.Run("the chown list is not left in the image", func(t *testing.T) {
		if got := execIn(t, ts.client, vm, "sh", "-c", "ls -a / | grep -c vers-build || true"); got != "0" {
			t.Fatalf("%s leftover files in /", got)
		}
	})
}

func TestExecute_unknownUserFailsClearly(t *testing.T) {
	ts := startServer(t)
	dir := t.TempDir()
	cases := map[string]string{
		"USER nosuch\nRUN true\n":           "unable to find user nosuch",
		"USER root:nogrp\nRUN true\n":       "unable to find group nogrp",
		"USER nosuch\nWORKDIR /w\nRUN true": "unable to find user nosuch",
	}
	for body, want := range cases {
		_, err := Execute(context.Background(), ts.client, prepare(t, dir, "FROM scratch\n"+body), Options{BuildID: "bad-user"})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want it to say %q", body, err, want)
		}
	}
	if n := len(ts.liveVMs(t)); n != 0 {
		t.Fatalf("%d VMs left after failed builds", n)
	}
}
