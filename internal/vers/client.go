package vers

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Logger receives one structured line per request attempt, retry and
// notable recovery. It never receives headers, bodies or the API key.
// Warnings carry fields["level"] == "warn". A nil Logger is silent.
//
// It is a plain function type so that callers (the provider's tflog
// bridge, tests) can pass a closure without an adapter.
type Logger func(ctx context.Context, msg string, fields map[string]any)

// Config configures a Client. Only BaseURL and APIKey are required.
type Config struct {
	BaseURL   string // e.g. https://api.vers.sh; "/api/v1" is appended by the client
	APIKey    string // sent only as "Authorization: Bearer …"
	UserAgent string // e.g. terraform-provider-vers/1.2.3

	// MaxRetries is how many times a failed attempt is retried (connection
	// errors, 408, 429, 5xx). 0 means no retries; a negative value means
	// the default, 8.
	MaxRetries int
	// RequestTimeout bounds one attempt (for exec streams: until the
	// response headers arrive). 0 means no per-attempt limit.
	RequestTimeout time.Duration
	Logger         Logger

	// VMDomain is the DNS suffix of VM SSH hosts; empty derives it from
	// BaseURL with DeriveVMDomain.
	VMDomain string
	// SSHAddress, when set, is the host:port every VM's SSH-over-TLS
	// connection dials instead of <vm_id>.<vm_domain>:443. SNI is unchanged.
	SSHAddress            string
	SSHRootCAs            *x509.CertPool // nil: system roots
	SSHInsecureSkipVerify bool

	// Backoff: full jitter over MinBackoff·2^attempt, capped at MaxBackoff.
	// Defaults 500 ms and 30 s.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// Sleep waits between attempts; tests inject it. Default: a timer that
	// returns ctx.Err() when ctx ends first.
	Sleep func(ctx context.Context, d time.Duration) error

	// HTTPClient overrides the transport (tests). Default: a client with
	// sane dial/TLS timeouts and no overall timeout.
	HTTPClient *http.Client
}

// String keeps the API key out of any accidental %v of a Config.
func (c Config) String() string {
	return fmt.Sprintf("vers.Config{BaseURL: %q, APIKey: <redacted>, MaxRetries: %d}", c.BaseURL, c.MaxRetries)
}

// Client is a typed Vers API client. It is safe for concurrent use.
type Client struct {
	base       *url.URL // ends in /api/v1
	apiKey     string
	userAgent  string
	http       *http.Client
	maxRetries int
	timeout    time.Duration
	log        Logger
	minBackoff time.Duration
	maxBackoff time.Duration
	sleep      func(ctx context.Context, d time.Duration) error

	vmDomain       string
	sshAddress     string
	sshRootCAs     *x509.CertPool
	sshInsecure    bool
	sshKeepalive   time.Duration
	sshDialTimeout time.Duration
	sshKeys        sync.Map // VM id → ssh.Signer, see sshSigner
}

// DefaultBaseURL is the hosted Vers API, used when no base URL is set.
const DefaultBaseURL = "https://api.vers.sh"

const (
	defaultMaxRetries = 8
	defaultMinBackoff = 500 * time.Millisecond
	defaultMaxBackoff = 30 * time.Second
	apiPrefix         = "/api/v1"
)

// New validates cfg and builds a Client.
func New(cfg Config) (*Client, error) {
	if cfg.APIKey == "" {
		return nil, errors.New("vers: an API key is required (set VERS_API_KEY or api_key)")
	}
	if cfg.BaseURL == "" {
		return nil, errors.New("vers: a base URL is required")
	}
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("vers: base URL %q must be an absolute http(s) URL such as https://api.vers.sh", cfg.BaseURL)
	}
	// Accept a base that already ends in /api/v1 (the old provider's form).
	if !strings.HasSuffix(base.Path, apiPrefix) {
		base.Path += apiPrefix
	}
	c := &Client{
		base:           base,
		apiKey:         cfg.APIKey,
		userAgent:      cfg.UserAgent,
		http:           cfg.HTTPClient,
		maxRetries:     cfg.MaxRetries,
		timeout:        cfg.RequestTimeout,
		log:            cfg.Logger,
		minBackoff:     cfg.MinBackoff,
		maxBackoff:     cfg.MaxBackoff,
		sleep:          cfg.Sleep,
		vmDomain:       cfg.VMDomain,
		sshAddress:     cfg.SSHAddress,
		sshRootCAs:     cfg.SSHRootCAs,
		sshInsecure:    cfg.SSHInsecureSkipVerify,
		sshKeepalive:   15 * time.Second,
		sshDialTimeout: 30 * time.Second,
	}
	if c.userAgent == "" {
		c.userAgent = "terraform-provider-vers"
	}
	if c.maxRetries < 0 {
		c.maxRetries = defaultMaxRetries
	}
	if c.minBackoff <= 0 {
		c.minBackoff = defaultMinBackoff
	}
	if c.maxBackoff <= 0 {
		c.maxBackoff = defaultMaxBackoff
	}
	if c.maxBackoff < c.minBackoff {
		c.maxBackoff = c.minBackoff
	}
	if c.sleep == nil {
		c.sleep = sleepContext
	}
	if c.vmDomain == "" {
		c.vmDomain = DeriveVMDomain(cfg.BaseURL)
	}
	if c.http == nil {
		c.http = &http.Client{Transport: defaultTransport()}
	}
	return c, nil
}

func defaultTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 15 * time.Second
	t.MaxIdleConnsPerHost = 16
	return t
}

// LocalVMDomain is the VM domain of a local versd. versd's own default must
// stay equal to it (tools/versd tests that).
const LocalVMDomain = "vm.versd.localhost"

// DeriveVMDomain maps the API base URL to the DNS suffix of VM SSH hosts:
//
//   - api.X            → vm.X (api.vers.sh → vm.vers.sh, like the official CLI)
//   - loopback or IP   → vm.versd.localhost (LocalVMDomain: versd's default, so
//     exporting only VERS_BASE_URL and VERS_SSH_ADDRESS matches its certificate)
//   - any other host H → vm.H (a self-hosted server names its VMs under itself)
//   - unparseable      → vm.vers.sh (the CLI's fallback)
func DeriveVMDomain(baseURL string) string {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || u.Hostname() == "" {
		return "vm.vers.sh"
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	switch {
	case strings.HasPrefix(host, "api."):
		return "vm." + strings.TrimPrefix(host, "api.")
	case host == "localhost" || strings.HasSuffix(host, ".localhost") || net.ParseIP(host) != nil:
		return LocalVMDomain
	default:
		return "vm." + host
	}
}

// VMDomain is the DNS suffix in use for VM SSH hosts.
func (c *Client) VMDomain() string { return c.vmDomain }

// endpoint builds the absolute URL for an already-escaped API path like
// "/vm/abc/status" (see apiPath).
func (c *Client) endpoint(path string, query url.Values) string {
	s := c.base.String() + path
	if len(query) > 0 {
		s += "?" + query.Encode()
	}
	return s
}

// apiPath formats an API path, escaping every argument as one path segment
// so that an ID or name can never change which endpoint is called.
func apiPath(format string, segments ...string) string {
	args := make([]any, len(segments))
	for i, s := range segments {
		args[i] = url.PathEscape(s)
	}
	return fmt.Sprintf(format, args...)
}

// redact removes the API key from text that came from elsewhere (server
// error bodies, transport errors) before it reaches an error or a log.
func (c *Client) redact(s string) string {
	if c.apiKey == "" {
		return s
	}
	return strings.ReplaceAll(s, c.apiKey, "[redacted]")
}

func (c *Client) debug(ctx context.Context, msg string, fields map[string]any) {
	if c.log != nil {
		c.log(ctx, msg, fields)
	}
}

func (c *Client) warn(ctx context.Context, msg string, fields map[string]any) {
	if c.log == nil {
		return
	}
	if fields == nil {
		fields = map[string]any{}
	}
	fields["level"] = "warn"
	c.log(ctx, msg, fields)
}

func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
