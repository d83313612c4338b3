// Package imagemeta is the record vers_build leaves in a commit's
// description so that the layer cache and data sources can read it back from
// Vers itself: nothing about a build lives on the runner's disk.
//
// The description is JSON with a fixed marker key, so ordinary human
// descriptions never parse as build records.
package imagemeta

import (
	"encoding/json"
	"strings"
)

// Marker is the top-level key of a build record.
const Marker = "vers_build"

// Image is the OCI-style configuration a Dockerfile declares and Vers has no
// field for.
type Image struct {
	Cmd          []string          `json:"cmd,omitempty"`
	Entrypoint   []string          `json:"entrypoint,omitempty"`
	Env          []string          `json:"env,omitempty"` // "NAME=value", in declaration order
	WorkingDir   string            `json:"workdir,omitempty"`
	User         string            `json:"user,omitempty"`
	ExposedPorts []string          `json:"exposed_ports,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	// Volumes, Healthcheck, StopSignal and Shell are recorded as Docker
	// records them; nothing in Vers acts on them.
	Volumes     []string     `json:"volumes,omitempty"`
	Healthcheck *Healthcheck `json:"healthcheck,omitempty"`
	StopSignal  string       `json:"stop_signal,omitempty"`
	Shell       []string     `json:"shell,omitempty"`
}

// Healthcheck is a HEALTHCHECK: Test as Docker records it ("CMD", ...,
// "CMD-SHELL", ... or "NONE"), durations as Go duration strings.
type Healthcheck struct {
	Test          []string `json:"test,omitempty"`
	Interval      string   `json:"interval,omitempty"`
	Timeout       string   `json:"timeout,omitempty"`
	StartPeriod   string   `json:"start_period,omitempty"`
	StartInterval string   `json:"start_interval,omitempty"`
	Retries       int      `json:"retries,omitempty"`
}

// Record is what one layer commit carries.
type Record struct {
	Version     int    `json:"v"`
	CacheKey    string `json:"cache_key"`
	BuildID     string `json:"build_id"`
	Instruction string `json:"instruction,omitempty"`
	Line        int    `json:"line,omitempty"`
	// Image is set on the final commit of a build only.
	Image *Image `json:"image,omitempty"`
}

type envelope struct {
	Record *Record `json:"vers_build"`
}

// Encode renders a record as a commit description.
func Encode(r Record) string {
	if r.Version == 0 {
		r.Version = 1
	}
	b, _ := json.Marshal(envelope{Record: &r}) // cannot fail: plain types only
	return string(b)
}

// Decode reads a record back; ok is false for any description that is not a
// build record (including nil, empty and human text).
func Decode(description *string) (Record, bool) {
	if description == nil || !strings.Contains(*description, `"`+Marker+`"`) {
		return Record{}, false
	}
	var e envelope
	if err := json.Unmarshal([]byte(*description), &e); err != nil || e.Record == nil || e.Record.CacheKey == "" {
		return Record{}, false
	}
	return *e.Record, true
}

// CommitName is the commit name a layer carries: short, recognisable in
// `vers commit list`, and unique per cache key.
func CommitName(cacheKey string) string {
	k := strings.TrimPrefix(cacheKey, "sha256:")
	if len(k) > 24 {
		k = k[:24]
	}
	return "vers-build-" + k
}
