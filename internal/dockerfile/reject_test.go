package dockerfile

import (
	"strings"
	"testing"
)

func TestRejected(t *testing.T) {
	cases := []struct {
		name   string
		src    string
		line   int
		msg    string // in Message
		advice string // in Advice
	}{
		{"empty file", "", 1, "the Dockerfile is empty", "FROM scratch"},
		{"only comments", "# nothing\n\n# here\n", 1, "the Dockerfile is empty", "FROM scratch"},
		{"no FROM", "\nRUN echo\nCOPY a b\n", 2, "has no FROM instruction", "FROM <commit id>"},
		{"instruction before FROM", "ARG A\nENV X=1\nFROM scratch\n", 2, "ENV before FROM is not supported by the Vers builder", "only ARG may come before FROM"},
		{"FROM AS bad name", "FROM scratch AS 1build\n", 1, "invalid name for build stage", ""},
		{"FROM AS twice", "FROM scratch AS a\nFROM scratch AS a\n", 2, "stage name a is already used", "its own name"},
		{"FROM --platform", "FROM --platform=linux/arm64 scratch\n", 1, "FROM --platform=linux/arm64 is not supported", "$BUILDPLATFORM"},
		{"FROM --platform TARGETPLATFORM arm", "ARG TARGETPLATFORM=linux/arm64\nFROM --platform=$TARGETPLATFORM scratch\n", 2, "FROM --platform=linux/arm64", "remove --platform"},
		{"FROM docker hub path", "FROM docker.io/library/ubuntu:22.04\n", 1, "names the registry docker.io; Vers has no registries", "FROM ubuntu:22.04"},
		{"FROM ghcr", "FROM ghcr.io/org/tool:1.2\n", 1, "names the registry ghcr.io", "FROM org/tool:1.2"},
		{"FROM registry with port", "FROM localhost:5000/app:1\n", 1, "names the registry localhost:5000", "FROM app:1"},
		{"FROM digest", "FROM ubuntu@sha256:abcd\n", 1, "pins an image digest (@sha256:abcd); a digest is not a Vers reference", "FROM <commit id>"},
		{"FROM tag and digest", "FROM node:24@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n", 1, "a digest is not a Vers reference", "write FROM node:24 if that tag exists"},
		{"FROM tagless org/repo", "FROM acme/node\n", 1, "has no tag", "FROM acme/node:latest"},
		{"COPY --from later stage", "FROM scratch\nCOPY --from=build /out /out\nFROM scratch AS build\n", 2, "COPY --from=build names this stage or a later one", "move the FROM … AS build block up"},
		{"COPY --from own stage", "FROM scratch AS a\nCOPY --from=a /out /out\n", 2, "names this stage or a later one", ""},
		{"COPY --from digest", "FROM scratch\nCOPY --from=tool@sha256:ab /x /x\n", 2, "COPY --from=tool@sha256:ab pins an image digest", "--from=<commit id>"},
		{"COPY --from scratch", "FROM scratch\nCOPY --from=scratch /x /x\n", 2, "empty filesystem", "remove the COPY"},
		{"STOPSIGNAL bad", "FROM scratch\nSTOPSIGNAL SIG TERM\n", 2, "is not a signal", "SIGTERM"},
		{"SHELL empty", "FROM scratch\nSHELL []\n", 2, "SHELL requires at least one argument", ""},
		{"target unknown", "FROM scratch AS a\n", 1, "there is no build stage named", "a"},
		{"FROM empty after expansion", "ARG B\nFROM $B\n", 2, "FROM needs a base", "FROM scratch"},
		{"COPY --parents", "FROM scratch\nCOPY --parents a/b /x/\n", 2, "COPY --parents is not supported", "one COPY per directory"},
		{"COPY --exclude", "FROM scratch\nCOPY --exclude=*.md . /x/\n", 2, "COPY --exclude is not supported", ".dockerignore"},
		{"COPY heredoc", "FROM scratch\nCOPY <<EOF /etc/x\nhello\nEOF\n", 2, "COPY with a heredoc (inline file) is not supported", "RUN cat > /path <<EOF"},
		{"COPY URL", "FROM scratch\nCOPY https://example.com/x /x\n", 2, "COPY cannot fetch a URL", "RUN curl"},
		{"ADD two URLs", "FROM scratch\nADD https://example.com/a https://example.com/b /x/\n", 2, "ADD of a URL takes exactly one source", "one ADD per URL"},
		{"ADD bad checksum", "FROM scratch\nADD --checksum=md5:abc https://example.com/a /a\n", 2, "is not a sha256 checksum", "sha256:<64 hex digits>"},
		{"ADD checksum local", "FROM scratch\nADD --checksum=sha256:abc a /a\n", 2, "ADD --checksum applies to a URL source only", "https:// URL"},
		{"ADD git URL", "FROM scratch\nADD git@github.com:o/r.git /src\n", 2, "ADD from a Git repository", "git clone"},
		{"ADD git https", "FROM scratch\nADD https://github.com/o/r.git#main /src\n", 2, "ADD from a Git repository", "git clone"},
		{"ADD tar", "FROM scratch\nADD rootfs.tar /\n", 2, "ADD of a local archive that Docker would unpack (rootfs.tar) is not supported", "RUN tar -xf /tmp/rootfs.tar"},
		{"ADD tar.gz", "FROM scratch\nADD app.tar.gz /srv/\n", 2, "local archive", "COPY the archive"},
		{"ADD tgz", "FROM scratch\nADD dist/app.TGZ /srv/\n", 2, "local archive", "ADD --unpack=false"},
		{"ADD tar.bz2", "FROM scratch\nADD a.tar.bz2 /srv/\n", 2, "local archive", "RUN tar"},
		{"ADD tar.xz", "FROM scratch\nADD a.tar.xz /srv/\n", 2, "local archive", "RUN tar"},
		{"ADD txz", "FROM scratch\nADD a.txz /srv/\n", 2, "local archive", "RUN tar"},
		{"ADD tar.zst", "FROM scratch\nADD a.tar.zst /srv/\n", 2, "local archive", "RUN tar"},
		{"ADD archive via variable", "FROM scratch\nARG F=a.tgz\nADD $F /srv/\n", 3, "would unpack (a.tgz)", "RUN tar"},
		{"ADD --unpack", "FROM scratch\nADD --unpack=true a.bin /x\n", 2, "ADD --unpack is not supported", "RUN tar -xf"},
		{"ADD --keep-git-dir", "FROM scratch\nADD --keep-git-dir a /a\n", 2, "ADD --keep-git-dir is not supported", "git clone"},
		{"ADD --exclude", "FROM scratch\nADD --exclude=x a /a/\n", 2, "ADD --exclude is not supported", ".dockerignore"},
		{"ONBUILD", "FROM scratch\nONBUILD RUN make\n", 2, "ONBUILD is not supported by the Vers builder", "each Dockerfile that builds FROM this image"},
		{"MAINTAINER", "FROM scratch\nMAINTAINER me <me@example.com>\n", 2, "MAINTAINER is not supported by the Vers builder", "LABEL maintainer="},
		{"RUN --mount ssh", "FROM scratch\nRUN --mount=type=ssh git clone x\n", 2, "RUN --mount=type=ssh is not supported by the Vers builder", "--mount=type=secret,id=token,env=TOKEN"},
		{"RUN --mount cache no target", "FROM scratch\nRUN --mount=type=cache pip install x\n", 2, "RUN --mount=type=cache needs a target", "target=/path"},
		{"RUN --mount bind from image", "FROM scratch\nRUN --mount=type=bind,from=tools:1,target=/t make\n", 2, "RUN --mount=type=bind,from=tools:1 (not an earlier stage) is not supported", "add a stage FROM it"},
		{"RUN --mount bind outside", "FROM scratch\nRUN --mount=type=bind,source=../x,target=/t make\n", 2, "is outside the build context", "relative to the context root"},
		{"RUN --mount two same target", "FROM scratch\nRUN --mount=type=tmpfs,target=/t --mount=type=cache,target=/t make\n", 2, "two RUN --mount flags target /t", "its own target"},
		{"RUN --mount bad type", "FROM scratch\nRUN --mount=type=volume,target=/t make\n", 2, "unsupported mount type", ""},
		{"RUN --network", "FROM scratch\nRUN --network=none make\n", 2, "RUN --network is not supported", "plain RUN"},
		{"RUN --security", "FROM scratch\nRUN --security=insecure make\n", 2, "RUN --security is not supported", "plain RUN"},
		{"RUN shebang heredoc", "FROM scratch\nRUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF\n", 2, "#! interpreter line is not supported", "drop the #! line"},
		{"unknown instruction", "FROM scratch\nRUN ok\nCOPPY a b\n", 3, "unknown instruction: COPPY", "the Vers builder understands FROM, RUN"},
		{"unknown before FROM", "FORM scratch\nFROM scratch\n", 1, "unknown instruction: FORM", "the Vers builder understands"},
		{"chmod symbolic", "FROM scratch\nCOPY --chmod=u+x a /a\n", 2, "(a symbolic mode) is not supported", "--chmod=0755"},
		{"chmod out of range", "FROM scratch\nCOPY --chmod=17777 a /a\n", 2, "--chmod=17777 is not a valid mode", "between 0 and 7777"},
		{"chmod not octal", "FROM scratch\nCOPY --chmod=999 a /a\n", 2, "--chmod=999 is not a valid mode", "octal"},
		{"chown malformed", "FROM scratch\nCOPY --chown=app: a /a\n", 2, "--chown=app: is not a valid owner", "--chown=user:group"},
		{"many sources need dir", "FROM scratch\nCOPY a b /dest\n", 2, "more than one source needs a directory destination", "/dest/"},
		{"empty source", "FROM scratch\nCOPY $NOPE /x\n", 2, "empty source after variable expansion", "check the variables"},
		{"RUN without command", "FROM scratch\nRUN []\n", 2, "RUN needs a command", "RUN program arg"},
		{"CMD without command", "FROM scratch\nCMD\n", 2, "CMD needs a command", "CMD [] to clear"},
		{"EXPOSE host mapping", "FROM scratch\nEXPOSE 8080:80\n", 2, "publishing to a host address or port is not supported", "container ports only"},
		{"EXPOSE bad port", "FROM scratch\nEXPOSE 70000\n", 2, "EXPOSE 70000: invalid port", "1-65535"},
		{"EXPOSE zero", "FROM scratch\nEXPOSE 0\n", 2, "invalid port", "1-65535"},
		{"EXPOSE bad proto", "FROM scratch\nEXPOSE 80/icmp\n", 2, `unknown protocol "icmp"`, "tcp, udp or sctp"},
		{"EXPOSE reversed range", "FROM scratch\nEXPOSE 90-80\n", 2, "invalid port", "8000-8010/tcp"},
		{"EXPOSE huge range", "FROM scratch\nEXPOSE 1-65535\n", 2, "more than 1024 ports is not supported", "ports the service listens on"},
		{"EXPOSE empty", "FROM scratch\nEXPOSE $NOPE\n", 2, "EXPOSE has no port", "EXPOSE 3000"},
		{"bad substitution", "FROM scratch\nENV A=${B:-x\n", 2, "missing '}'", ""},
		{"required variable", "FROM scratch\nWORKDIR ${DIR?set DIR}\n", 2, "DIR: set DIR", ""},
		{"syntax error keeps BuildKit line", "FROM scratch\nRUN ok\nENV\n", 3, "ENV requires at least one argument", ""},
		{"unterminated heredoc", "FROM scratch\nRUN <<EOF\necho\n", 2, "unterminated heredoc", ""},
		{"JSON not strings", "FROM scratch\nRUN [\"a\", 1]\n", 2, "arrays must be comprised of strings only", ""},
		{"unknown flag", "FROM scratch\nCOPY --bogus=1 a /a\n", 2, "unknown flag: --bogus", ""},
		{"bad escape directive", "# escape=x\nFROM scratch\n", 1, "invalid escape token", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := Options{}
			if c.name == "target unknown" {
				opts.Target = "nope"
			}
			es := parseErrors(t, c.src, opts)
			var hit *Error
			for _, e := range es {
				if strings.Contains(e.Message, c.msg) {
					hit = e
					break
				}
			}
			if hit == nil {
				t.Fatalf("no error mentions %q; got:\n%v", c.msg, es)
			}
			if hit.Line != c.line {
				t.Errorf("line = %d, want %d (%v)", hit.Line, c.line, hit)
			}
			if !strings.Contains(hit.Advice, c.advice) {
				t.Errorf("advice %q lacks %q", hit.Advice, c.advice)
			}
			if hit.Filename != "Dockerfile" {
				t.Errorf("filename = %q", hit.Filename)
			}
			if strings.Contains(hit.Message, "is not supported") && !strings.HasSuffix(hit.Message, "is not supported by the Vers builder") {
				t.Errorf("message %q does not end with the standard phrase", hit.Message)
			}
		})
	}
}

func TestMultipleErrorsReportedTogether(t *testing.T) {
	src := strings.Join([]string{
		"ARG V=1",                       // 1
		"FROM ghcr.io/a/b:1 AS base",    // 2
		"ONBUILD RUN x",                 // 3
		"RUN echo fine",                 // 4
		"STOPSIGNAL 999",                // 5
		"ADD git@github.com:o/r /x",     // 6
		"COPY --from=base /a /b",        // 7
		"RUN --mount=type=ssh git pull", // 8
		"FROM base",                     // 9
		"EXPOSE 99999",                  // 10
		"COPY --from=later /a /b",       // 11
		"FROM scratch AS later",         // 12
		"",
	}, "\n")
	// Every stage's problems are reported, and a later FROM naming a
	// stage whose own FROM was wrong is not an error of its own.
	es := parseErrors(t, src, Options{})
	wantLines := []int{2, 3, 5, 6, 7, 8, 10, 11}
	if len(es) != len(wantLines) {
		t.Fatalf("got %d errors, want %d:\n%v", len(es), len(wantLines), es)
	}
	for i, e := range es {
		if e.Line != wantLines[i] {
			t.Errorf("error %d at line %d, want %d: %v", i, e.Line, wantLines[i], e)
		}
	}
	lines := strings.Split(es.Error(), "\n")
	if len(lines) != len(wantLines) || !strings.HasPrefix(lines[0], "Dockerfile:2: ") {
		t.Errorf("Error() = %q", es.Error())
	}
}

func TestCopyWithSeveralFlagProblems(t *testing.T) {
	es := parseErrors(t, "FROM scratch\nCOPY --from=x@sha256:1 --parents --exclude=y a /b/\n", Options{})
	if len(es) != 3 {
		t.Fatalf("got %d errors, want 3: %v", len(es), es)
	}
	for _, e := range es {
		if e.Line != 2 {
			t.Errorf("line %d: %v", e.Line, e)
		}
	}
}
