package dockerfile

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// Normalized text, the part of a layer's cache key that names the
// instruction. The keyword is upper case and followed by one space; what
// follows is, per instruction:
//
//	RUN (shell form)   the command as BuildKit joins it: continuation markers
//	                   removed, the text between them kept byte for byte
//	                   (the shell may care about it); heredoc bodies appended
//	                   as written. Leading and trailing blanks are dropped.
//	RUN (exec form),
//	CMD, ENTRYPOINT    the argv as a JSON array (spacing inside the brackets
//	                   does not matter); CMD and ENTRYPOINT record the shell
//	                   form as ["/bin/sh","-c","text"].
//	COPY, ADD          [--chown=X ][--chmod=Y ]["src",...,"dest"] after
//	                   expansion: sources cleaned relative to the context,
//	                   dest absolute (resolved against WORKDIR) with a
//	                   trailing "/" when it is a directory.
//	ENV, LABEL         NAME="value" pairs in written order after expansion,
//	                   values quoted as Go string literals.
//	ARG                NAME="effective value", or NAME when it is unset.
//	WORKDIR            the resolved absolute directory, cleaned.
//	USER               the expanded user.
//	EXPOSE             the port/proto entries, unique, sorted by port.
//
// So `copy  ./a   /app/` and `COPY a /app/` normalize alike, while RUN text
// changes (even whitespace) are changes, as in Docker's own cache.

func keyValues(kvs instructions.KeyValuePairs) string {
	parts := make([]string, len(kvs))
	for i, kv := range kvs {
		parts[i] = kv.Key + "=" + strconv.Quote(kv.Value)
	}
	return strings.Join(parts, " ")
}

// jsonArray renders strings as a compact JSON array without HTML escaping,
// so "&&" and "<" stay readable.
func jsonArray(items []string) string {
	if items == nil {
		items = []string{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(items) // strings always encode
	return strings.TrimSuffix(b.String(), "\n")
}

func normalizeCopy(kw string, c *CopyStep) string {
	var b strings.Builder
	b.WriteString(kw)
	if c.From != nil {
		if c.From.Stage >= 0 {
			b.WriteString(" --from=stage:" + strconv.Itoa(c.From.Stage))
		} else {
			b.WriteString(" --from=" + c.From.Ref.Ref)
		}
	}
	if c.Checksum != "" {
		b.WriteString(" --checksum=" + c.Checksum)
	}
	if c.Chown != "" {
		b.WriteString(" --chown=" + c.Chown)
	}
	if c.Chmod != "" {
		b.WriteString(" --chmod=" + c.Chmod)
	}
	b.WriteByte(' ')
	b.WriteString(jsonArray(append(append([]string(nil), c.Sources...), c.Dest)))
	return b.String()
}
