package versd

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"regexp"
	"strings"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
	"github.com/vers-sh/terraform-provider-vers/internal/versd/store"
)

// Account environment variables (GET/PUT /env_vars, DELETE /env_vars/{key}),
// one set per organisation.
// They live in the metadata database only: every command versd starts in a
// VM (HTTP exec, SSH exec and shells) gets the values current at its start,
// under the request's own env. Nothing is written into the VM's filesystem,
// so a commit never captures them.

// envNamePattern is what a POSIX shell accepts as a variable name.
var envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Limits keep one account's variables small enough to pass to every exec.
const (
	maxEnvVars       = 256
	maxEnvNameLen    = 256
	maxEnvValueBytes = 32 << 10
)

func validEnvName(name string) error {
	if len(name) > maxEnvNameLen || !envNamePattern.MatchString(name) {
		return badRequest("env var name %q is not valid: use letters, digits and _, not starting with a digit, at most %d characters",
			truncate(name, 40), maxEnvNameLen)
	}
	return nil
}

func (s *Server) listEnvVars(w http.ResponseWriter, r *http.Request) error {
	vars, err := s.db.EnvVars(r.Context(), callerOrg(r.Context()).id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, vers.EnvVarsResponse{Vars: vars})
	return nil
}

func (s *Server) setEnvVars(w http.ResponseWriter, r *http.Request) error {
	var req vers.SetEnvVarsRequest
	if err := decodeJSON(r, &req, false); err != nil {
		return err
	}
	if req.Vars == nil {
		return badRequest(`vars is required: an object such as {"vars":{"NAME":"value"},"replace":false}`)
	}
	for name, value := range req.Vars {
		if err := validEnvName(name); err != nil {
			return err
		}
		// The value is a secret: the message names the variable, never the value.
		if len(value) > maxEnvValueBytes || strings.ContainsRune(value, 0) {
			return badRequest("env var %s: the value must be at most %d bytes without NUL characters", name, maxEnvValueBytes)
		}
	}
	org := callerOrg(r.Context()).id
	current, err := s.db.EnvVars(r.Context(), org)
	if err != nil {
		return err
	}
	after := map[string]string{}
	if !req.Replace {
		maps.Copy(after, current)
	}
	maps.Copy(after, req.Vars)
	if len(after) > maxEnvVars {
		return badRequest("an account holds at most %d env vars; this request would leave %d", maxEnvVars, len(after))
	}
	vars, err := s.db.SetEnvVars(r.Context(), org, req.Vars, req.Replace)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, vers.EnvVarsResponse{Vars: vars})
	return nil
}

func (s *Server) deleteEnvVar(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("key")
	if err := validEnvName(name); err != nil {
		return err
	}
	if err := s.db.DeleteEnvVar(r.Context(), callerOrg(r.Context()).id, name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("env var %s not found", name)
		}
		return err
	}
	writeNoContent(w)
	return nil
}

// withAccountEnv returns the variables of the VM's organisation overlaid
// with the command's own env, which wins.
func (s *Server) withAccountEnv(ctx context.Context, vm store.VM, env map[string]string) (map[string]string, error) {
	vars, err := s.db.EnvVars(ctx, vm.Org)
	if err != nil {
		return nil, err
	}
	if len(vars) == 0 {
		return env, nil
	}
	maps.Copy(vars, env)
	return vars, nil
}
