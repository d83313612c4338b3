package build

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"

	"github.com/vers-sh/terraform-provider-vers/internal/dockerfile"
	"github.com/vers-sh/terraform-provider-vers/internal/imagemeta"
)

// cacheKeyVersion changes whenever the key's inputs change meaning, so old
// cache entries miss instead of matching wrongly.
const cacheKeyVersion = "vers-layer-v1"

// layerKey is sha256(parent ‖ normalised instruction ‖ ENV/WORKDIR/USER
// snapshot ‖ step content hash ‖ final image config), every field length
// framed. The image config is included for the last layer only: it is the
// commit that carries CMD/EXPOSE/LABEL, so two builds that differ only there
// must not share it.
func layerKey(parent string, step dockerfile.Step, contentHash string, finalImage *imagemeta.Image) string {
	h := sha256.New()
	field(h, cacheKeyVersion)
	field(h, parent)
	field(h, step.Normalized)
	for _, e := range step.Env {
		field(h, "env")
		field(h, e.Name)
		field(h, e.Value)
	}
	field(h, "workdir")
	field(h, step.WorkDir)
	field(h, "user")
	field(h, step.User)
	field(h, "content")
	field(h, contentHash)
	if finalImage != nil {
		field(h, "image")
		field(h, imagemeta.Encode(imagemeta.Record{CacheKey: "-", Image: finalImage}))
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

func field(h hash.Hash, s string) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(s)))
	h.Write(n[:])
	h.Write([]byte(s))
}

// imageFromDockerfile converts the parser's image config into the record
// stored on the final commit.
func imageFromDockerfile(c dockerfile.ImageConfig) *imagemeta.Image {
	img := &imagemeta.Image{
		Cmd: c.Cmd, Entrypoint: c.Entrypoint, WorkingDir: c.WorkingDir, User: c.User,
		ExposedPorts: c.ExposedPorts, Labels: c.Labels,
		Volumes: c.Volumes, StopSignal: c.StopSignal, Shell: c.Shell,
	}
	if h := c.Healthcheck; h != nil {
		img.Healthcheck = &imagemeta.Healthcheck{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, StartInterval: h.StartInterval, Retries: h.Retries}
	}
	for _, e := range c.Env {
		img.Env = append(img.Env, e.Name+"="+e.Value)
	}
	return img
}
