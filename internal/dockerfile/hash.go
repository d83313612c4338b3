package dockerfile

import (
	"encoding/json"
	"strconv"
)

// HashInputs returns canonical records that describe the build without the
// context files: the base reference, every declared build arg with its
// effective value (undeclared overrides are absent), and each step's
// normalized text. Comments, blank lines and spacing Docker ignores do not
// change them; anything that changes what a build does does. The context
// hash should include these records (in order) together with the context
// files and vm_config.
func (d *Dockerfile) HashInputs() []string {
	out := make([]string, 0, 2+len(d.BuildArgs)+len(d.Steps))
	out = append(out, "from "+string(d.From.Kind)+" "+d.From.Ref)
	if d.base != nil {
		out = append(out, baseRecord(d.base))
	}
	for _, a := range d.BuildArgs {
		if a.Set {
			out = append(out, "build-arg "+a.Name+"="+strconv.Quote(a.Value))
		} else {
			out = append(out, "build-arg "+a.Name+" unset")
		}
	}
	for _, s := range d.Steps {
		out = append(out, "step "+s.Normalized)
	}
	return out
}

// baseRecord describes Options.Base for HashInputs callers that pass one.
func baseRecord(b *ImageConfig) string {
	j, _ := json.Marshal(b) // plain data: cannot fail
	return "base " + string(j)
}
