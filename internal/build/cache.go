package build

import (
	"context"
	"time"

	"github.com/vers-sh/terraform-provider-vers/internal/imagemeta"
	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// layerCache maps cache keys to commits. It lives in Vers: every layer
// commit carries its key in its description (imagemeta.Record), so one
// commit listing rebuilds the whole cache on any machine, including a fresh
// Terraform Cloud runner with an empty disk. A deleted commit is simply not
// listed, which makes it a miss rather than an error.
type layerCache struct {
	byKey map[string]vers.CommitInfo
	// images holds the image record of every final build commit listed, so
	// a FROM that names one can inherit its ENV/WORKDIR/USER/CMD.
	images map[string]*imagemeta.Image
}

// commitLister is the one listing a build (or a preview) reads the cache
// from; the provider shares its listing with the data sources through it.
type commitLister interface {
	ListAllCommits(ctx context.Context) ([]vers.CommitInfo, error)
}

func loadLayerCache(ctx context.Context, api commitLister) (*layerCache, error) {
	commits, err := api.ListAllCommits(ctx)
	if err != nil {
		return nil, err
	}
	c := &layerCache{byKey: map[string]vers.CommitInfo{}, images: map[string]*imagemeta.Image{}}
	for _, info := range commits {
		rec, ok := imagemeta.Decode(info.Description)
		if !ok {
			continue
		}
		if rec.Image != nil {
			c.images[info.CommitID] = rec.Image
		}
		// Several commits share a key when concurrent builds both filled it
		// or a no_cache build re-ran the step. The newest wins, so a
		// deliberate rebuild becomes the cache; equal timestamps fall to the
		// larger id, so every reader picks the same commit whatever the
		// listing order.
		if prev, seen := c.byKey[rec.CacheKey]; seen && !newerCommit(info, prev) {
			continue
		}
		c.byKey[rec.CacheKey] = info
	}
	return c, nil
}

func (c *layerCache) lookup(key string) (string, bool) {
	info, ok := c.byKey[key]
	return info.CommitID, ok
}

// newerCommit reports whether a was created after b, breaking ties by the
// larger id. Timestamps are compared as times (fractional seconds make
// RFC 3339 text sort wrongly); unparsable ones fall back to text order.
func newerCommit(a, b vers.CommitInfo) bool {
	if a.CreatedAt != b.CreatedAt {
		ta, errA := time.Parse(time.RFC3339Nano, a.CreatedAt)
		tb, errB := time.Parse(time.RFC3339Nano, b.CreatedAt)
		if errA == nil && errB == nil {
			if !ta.Equal(tb) {
				return ta.After(tb)
			}
		} else {
			return a.CreatedAt > b.CreatedAt
		}
	}
	return a.CommitID > b.CommitID
}

// baseImage is the image record of a commit vers_build made, nil for any
// other commit.
func (c *layerCache) baseImage(commitID string) *imagemeta.Image { return c.images[commitID] }

func (c *layerCache) add(key string, info vers.CommitInfo) { c.byKey[key] = info }
