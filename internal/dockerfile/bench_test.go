package dockerfile

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// dockerfile200 builds a realistic 200-line Dockerfile: ARGs, ENV blocks,
// multi-line RUNs, COPYs and metadata.
func dockerfile200() []byte {
	var b strings.Builder
	b.WriteString("# syntax=docker/dockerfile:1\nARG BASE_TAG=v1\nFROM golden-base:${BASE_TAG}\nARG VERSION=dev\n")
	lines := 4
	for i := 0; lines < 200; i++ {
		switch i % 5 {
		case 0:
			fmt.Fprintf(&b, "ENV APP_%d=${VERSION}-%d \\\n    PATH=/opt/app%d/bin:$PATH\n", i, i, i)
			lines += 2
		case 1:
			fmt.Fprintf(&b, "WORKDIR /srv/app%d\n", i)
			lines++
		case 2:
			fmt.Fprintf(&b, "COPY --chown=app:app --chmod=0644 pkg%d.json lock%d.json ./\n", i, i)
			lines++
		case 3:
			fmt.Fprintf(&b, "RUN apt-get update \\\n    && apt-get install -y pkg%d \\\n    && rm -rf /var/lib/apt/lists/*\n", i)
			lines += 3
		case 4:
			fmt.Fprintf(&b, "LABEL step%d=\"$VERSION\"\nEXPOSE %d\n", i, 3000+i)
			lines += 2
		}
	}
	b.WriteString("CMD [\"node\", \"server.js\"]\n")
	return []byte(b.String())
}

func TestBenchmarkInputIsValid(t *testing.T) {
	src := dockerfile200()
	if n := strings.Count(string(src), "\n"); n < 200 {
		t.Fatalf("benchmark Dockerfile has %d lines", n)
	}
	d := mustParse(t, string(src), Options{BuildArgs: map[string]string{"VERSION": "1.0"}})
	if len(d.MaterializingSteps()) < 20 {
		t.Fatalf("only %d layers", len(d.MaterializingSteps()))
	}
}

func BenchmarkParse(b *testing.B) {
	src := dockerfile200()
	opts := Options{BuildArgs: map[string]string{"VERSION": "1.0"}}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(src, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildKitParser is the floor BenchmarkParse builds on: BuildKit's
// bare parser over the same input. The ratio of the two is what this
// package's decoding, expansion and validation add.
func BenchmarkBuildKitParser(b *testing.B) {
	src := dockerfile200()
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parser.Parse(bytes.NewReader(src)); err != nil {
			b.Fatal(err)
		}
	}
}
