package imagemeta

import (
	"reflect"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	in := Record{CacheKey: "sha256:abc", BuildID: "b1", Instruction: "RUN x", Line: 3,
		Image: &Image{Cmd: []string{"node", "server.js"}, ExposedPorts: []string{"3000/tcp"}, Labels: map[string]string{"a": "b"}}}
	s := Encode(in)
	out, ok := Decode(&s)
	if !ok {
		t.Fatalf("Decode(%q) not ok", s)
	}
	in.Version = 1
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip: got %+v, want %+v", out, in)
	}
}

func TestDecodeRejectsOrdinaryDescriptions(t *testing.T) {
	for _, s := range []string{"", "Seeded 2026-04-20", `{"vers_build":null}`, `{"vers_build":{"v":1}}`, `{"other":1}`, `{"vers_build": [`} {
		s := s
		if _, ok := Decode(&s); ok {
			t.Errorf("Decode(%q) = ok", s)
		}
	}
	if _, ok := Decode(nil); ok {
		t.Error("Decode(nil) = ok")
	}
}

func TestCommitName(t *testing.T) {
	if got := CommitName("sha256:0123456789abcdef0123456789abcdef"); got != "vers-build-0123456789abcdef01234567" {
		t.Fatalf("CommitName = %q", got)
	}
}
