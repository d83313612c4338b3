package buildcontext

import (
	"strings"
	"testing"

	"github.com/moby/patternmatcher"
)

// FuzzIgnoreMatch feeds arbitrary ignore files and paths through the parser,
// the matcher (component by component, as the walk does) and the pruning
// rule: none may panic, and an excluded directory may only be pruned when
// matching is deterministic.
func FuzzIgnoreMatch(f *testing.F) {
	for _, seed := range []struct{ ignore, path string }{
		{"*.log\n!keep.log", "a/keep.log"},
		{"**/node_modules\n!**/node_modules/x", "src/node_modules/x/y"},
		{"# c\n\n/docs/\n!./docs/a", "docs/a/b"},
		{"[a-", "a"},
		{"!", "x"},
		{"a\\*b\n**", "a*b/c"},
	} {
		f.Add(seed.ignore, seed.path)
	}
	f.Fuzz(func(t *testing.T, ignore, rel string) {
		rules, err := parseIgnore([]byte(ignore))
		if err != nil || rules == nil {
			return
		}
		var info patternmatcher.MatchInfo
		cur := ""
		for _, comp := range strings.Split(rel, "/") {
			if comp == "" || comp == "." || comp == ".." {
				continue
			}
			cur = joinRel(cur, comp)
			excluded, next, err := rules.match(cur, info)
			if err != nil {
				return
			}
			again, _, _ := rules.match(cur, info)
			if again != excluded {
				t.Fatalf("%q: matching is not deterministic", cur)
			}
			if excluded {
				_ = rules.canPrune(cur)
			}
			info = next
		}
	})
}
