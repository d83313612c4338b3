//go:build !linux

package buildcontext

import "errors"

func evictTree(string) error {
	return errors.New("-vers.evict is only implemented on Linux")
}

func peakRSS() (int64, bool) { return 0, false }
