package vers

import (
	"context"
	"net/http"
)

// ListEnvVars returns the account's environment variables.
func (c *Client) ListEnvVars(ctx context.Context) (map[string]string, error) {
	var out EnvVarsResponse
	if err := c.doJSON(ctx, http.MethodGet, "/env_vars", nil, nil, &out); err != nil {
		return nil, err
	}
	if out.Vars == nil {
		out.Vars = map[string]string{}
	}
	return out.Vars, nil
}

// SetEnvVars merges vars into the account's variables, or replaces all of
// them when replace is set, and returns the full set. The request is a PUT
// of absolute values, so a retry after a lost response is harmless.
func (c *Client) SetEnvVars(ctx context.Context, vars map[string]string, replace bool) (map[string]string, error) {
	if vars == nil {
		vars = map[string]string{}
	}
	var out EnvVarsResponse
	if err := c.doJSON(ctx, http.MethodPut, "/env_vars", nil, SetEnvVarsRequest{Vars: vars, Replace: replace}, &out); err != nil {
		return nil, err
	}
	if out.Vars == nil {
		out.Vars = map[string]string{}
	}
	return out.Vars, nil
}

// DeleteEnvVar deletes one variable; a missing one is a NotFound error.
func (c *Client) DeleteEnvVar(ctx context.Context, name string) error {
	return c.doJSON(ctx, http.MethodDelete, apiPath("/env_vars/%s", name), nil, nil, nil)
}
