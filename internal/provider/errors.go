package provider

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vers-sh/terraform-provider-vers/internal/vers"
)

// apiErrorDetail turns an API error into a diagnostic detail: what the
// server said, then what the user can do about it.
func apiErrorDetail(err error, advice string) string {
	var b strings.Builder
	b.WriteString(err.Error())
	var apiErr *vers.APIError
	if errors.As(err, &apiErr) {
		switch {
		case apiErr.StatusCode == 401 || apiErr.StatusCode == 403:
			b.WriteString("\n\nThe API key was refused. Check VERS_API_KEY (or api_key) and that it belongs to this server (base_url).")
		case apiErr.StatusCode == 429:
			b.WriteString("\n\nThe service kept rate-limiting after all retries; raise max_retries or lower -parallelism.")
		case apiErr.StatusCode >= 500:
			b.WriteString("\n\nThe service failed after all retries; apply again later.")
		}
	}
	if advice != "" {
		b.WriteString("\n\n")
		b.WriteString(advice)
	}
	return b.String()
}

// importAdvice is the advice for a create that found the name taken: import
// what is there. A DuplicateCreateError already says what to do (a retry
// after a lost response found an object it cannot call its own), so it
// gets none; neither does any other failure.
func importAdvice(err error, what, address string) string {
	var dup *vers.DuplicateCreateError
	if errors.As(err, &dup) || !vers.IsConflict(err) {
		return ""
	}
	return fmt.Sprintf("The %s %s already exists. Import it: terraform import <address> %s", what, address, address)
}
