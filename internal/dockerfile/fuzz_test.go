package dockerfile

import (
	"errors"
	"path"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// fuzzSeeds are Dockerfiles that reach every branch of the parser: the
// supported forms, each rejection, expansion corner cases and syntax errors.
var fuzzSeeds = []string{
	"",
	"FROM scratch\n",
	"# escape=`\nFROM scratch\nRUN a `\n  b\n",
	"# syntax=docker/dockerfile:1\nARG T=v1\nFROM app:$T\nARG T\nENV A=${T:-x} B=${T:+y}\nRUN echo $A\n",
	"FROM scratch\nWORKDIR a\nWORKDIR ../b\nCOPY --chown=1:1 --chmod=0755 x y z/ ./\nADD f /f\n",
	"FROM scratch\nRUN <<EOF\necho hi\nEOF\nRUN cat <<A <<B\na\nA\nb\nB\n",
	"FROM scratch\nRUN <<-EOF\n\t#!/bin/sh\nEOF\n",
	"FROM scratch\nCOPY <<EOF /x\nbody\nEOF\n",
	"FROM scratch\nEXPOSE 1-3/udp 80 ${P:-443}/tcp\nLABEL a=b \"c d\"=e\nUSER u:g\nCMD x\nENTRYPOINT [\"y\"]\n",
	"FROM a AS b\nFROM c\nCOPY --from=b / /\nHEALTHCHECK NONE\nSHELL [\"sh\"]\nVOLUME /v\nSTOPSIGNAL 9\nONBUILD RUN x\nMAINTAINER m\n",
	"RUN x\n",
	"ENV A=1\nFROM scratch\n",
	"FROM scratch\nADD http://x/y /y\nADD a.tar.gz /\nADD --unpack=false a.tgz /\nRUN --mount=type=cache,target=/c x\n",
	"FROM scratch\nENV A=${B\n",
	"FROM scratch\nENV A=${B:?required}\n",
	"FROM scratch\nRUN [\"a\", 1]\n",
	"FROM 3f2c1a9e-0b7d-4c55-9d2a-1e2f3a4b5c6d\nRUN x\n",
	"FROM org/repo:tag\nCOPY . .\n",
	"\xef\xbb\xbfFROM scratch\r\nRUN x\r\n",
	"FROM scratch\nCOPY --chmod=u+x a /a\nCOPY --chmod=99999 a /a\n",
	"FROM scratch\nRUN a \\\n\n  b\n",
	"from $X\n",
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, "T", "v2")
	}
	f.Fuzz(func(t *testing.T, src, argName, argValue string) {
		opts := Options{BuildArgs: map[string]string{argName: argValue}}
		d, err := Parse([]byte(src), opts)
		if err != nil {
			checkErrors(t, err)
			return
		}
		checkDockerfile(t, d)
		again, err := Parse([]byte(src), opts)
		if err != nil || !reflect.DeepEqual(again.HashInputs(), d.HashInputs()) {
			t.Fatalf("second parse differs: %v", err)
		}
	})
}

func checkErrors(t *testing.T, err error) {
	t.Helper()
	var es Errors
	if !errors.As(err, &es) || len(es) == 0 {
		t.Fatalf("error %T %v is not a non-empty Errors", err, err)
	}
	for _, e := range es {
		if e.Line < 1 || e.Filename != "Dockerfile" || e.Message == "" {
			t.Fatalf("bad error %+v", e)
		}
		if !strings.HasPrefix(e.Error(), "Dockerfile:") {
			t.Fatalf("Error() = %q", e.Error())
		}
	}
}

func checkDockerfile(t *testing.T, d *Dockerfile) {
	t.Helper()
	if d.From.Kind == "" || d.From.Ref == "" || d.From.Line < 1 {
		t.Fatalf("From = %+v", d.From)
	}
	for i, s := range d.Steps {
		if s.Index != i+1 || s.StartLine < d.From.Line || s.EndLine < s.StartLine {
			t.Fatalf("step %d: index %d lines %d-%d", i, s.Index, s.StartLine, s.EndLine)
		}
		if !strings.HasPrefix(s.Normalized, string(s.Kind)) {
			t.Fatalf("step %d: normalized %q does not start with %s", i, s.Normalized, s.Kind)
		}
		if s.Materializes != (s.Run != nil || s.Copy != nil) {
			t.Fatalf("step %d: Materializes %v with run %v copy %v", i, s.Materializes, s.Run, s.Copy)
		}
		if !path.IsAbs(s.WorkDir) {
			t.Fatalf("step %d: WorkDir %q", i, s.WorkDir)
		}
		if c := s.Copy; c != nil {
			if !path.IsAbs(c.Dest) || c.DestIsDir != strings.HasSuffix(c.Dest, "/") || len(c.Sources) == 0 {
				t.Fatalf("step %d: copy %+v", i, c)
			}
			if _, ok := c.FileMode(); ok != (c.Chmod != "") {
				t.Fatalf("step %d: chmod %q not octal", i, c.Chmod)
			}
		}
		if r := s.Run; r != nil && len(r.Command) == 0 {
			t.Fatalf("step %d: empty command", i)
		}
	}
	if !sort.SliceIsSorted(d.BuildArgs, func(i, j int) bool { return d.BuildArgs[i].Name < d.BuildArgs[j].Name }) {
		t.Fatalf("BuildArgs not sorted: %+v", d.BuildArgs)
	}
	if !path.IsAbs(d.Image.WorkingDir) {
		t.Fatalf("WorkingDir %q", d.Image.WorkingDir)
	}
}

// TestFuzzSeeds runs the fuzz invariants over the seeds in every plain
// `go test`, so they hold even where nobody runs the fuzzer.
func TestFuzzSeeds(t *testing.T) {
	for _, s := range fuzzSeeds {
		d, err := Parse([]byte(s), Options{BuildArgs: map[string]string{"T": "v2"}})
		if err != nil {
			checkErrors(t, err)
			continue
		}
		checkDockerfile(t, d)
	}
}
