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
	var args []string
	for _, a := range d.BuildArgs {
		if a.Set {
			args = append(args, "build-arg "+a.Name+"="+strconv.Quote(a.Value))
		} else {
			args = append(args, "build-arg "+a.Name+" unset")
		}
	}
	if len(d.Stages) == 1 {
		// The single-stage layout predates stages; keeping it keeps
		// existing context hashes.
		out := stageRecords(d.Stages[0])
		out = append(out[:len(out)-len(d.Stages[0].Steps)], append(args, out[len(out)-len(d.Stages[0].Steps):]...)...)
		return out
	}
	out := args
	for _, i := range d.Needed() {
		out = append(out, "stage "+strconv.Itoa(i))
		out = append(out, stageRecords(d.Stages[i])...)
	}
	return out
}

// stageRecords are a stage's base and steps.
func stageRecords(st Stage) []string {
	out := []string{"from " + string(st.From.Kind) + " " + st.From.Ref}
	if st.base != nil && st.From.Kind != FromStage {
		out = append(out, baseRecord(st.base))
	}
	for _, s := range st.Steps {
		out = append(out, "step "+s.Normalized)
	}
	return out
}

func baseRecord(b *ImageConfig) string {
	j, _ := json.Marshal(b) // plain data: cannot fail
	return "base " + string(j)
}
