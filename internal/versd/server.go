// Package versd is the local, API-compatible Vers server: the HTTP API of
// vers-api.md over SQLite metadata (package store), sandboxed VMs (package
// sandbox) and an SSH-over-TLS gateway (package sshgw).
//
// Start runs it in-process (tests use 127.0.0.1:0); tools/versd is the
// command people run.
package versd

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vers-sh/terraform-provider-vers/internal/versd/sshgw"
	"github.com/vers-sh/terraform-provider-vers/internal/versd/store"
)

// Options configures Start.
// DefaultVMDomain names VMs <id>.vm.versd.localhost. The provider derives
// the same domain for a loopback base URL, so exporting the API and gateway
// addresses is enough (tools/versd tests that the two agree).
const DefaultVMDomain = "vm.versd.localhost"

type Options struct {
	Listen     string // HTTP API address; default "127.0.0.1:0"
	SSHListen  string // SSH-over-TLS gateway address; default "127.0.0.1:0"
	DataDir    string // required: SQLite database, layers, CA
	APIKey     string // required: the bearer key every /api/v1 call must send
	VMDomain   string // default DefaultVMDomain
	BaseRootfs string // directory or tarball for new_root; empty = busybox
	Runtime    string // OCI runtime binary that runs VMs; empty = runc on PATH
	OrgName    string // the default organisation (APIKey's); default "local"
	// Orgs are more organisations, one API key each; objects are private
	// to their organisation. BuiltinOrg exists always (it publishes the
	// base image) and has a key only if listed here.
	Orgs []OrgKey
	// APIHost, when set, is the host name VERS_URL advertises instead of
	// the listen address. The official CLI derives VM host names from it:
	// api.X gives <vm>.vm.X, so "api.versd.localhost" pairs with the
	// default VMDomain.
	APIHost string
	// HostsFile, when set, is a hosts file (normally /etc/hosts) in which
	// versd keeps a marked block mapping APIHost and every live VM's
	// <id>.<VMDomain> to 127.0.0.1, and removes it at Close.
	HostsFile string
	Logf      func(string, ...any)
	// Middleware wraps the whole HTTP handler (tests observe or alter traffic).
	Middleware func(http.Handler) http.Handler
	Faults     FaultOptions // off unless Faults.Rate > 0
	// PauseOnCommit leaves every committed VM paused whatever keep_paused
	// says, as the Vers docs describe committing ("committing pauses the
	// VM"), so tests check that clients resume before using the VM again.
	PauseOnCommit bool
	// ExecOutputBudget caps the exec output kept for re-attach and logs,
	// over all VMs; 0 means DefaultExecOutputBudget.
	ExecOutputBudget int64
}

// Server is a running versd.
type Server struct {
	URL        string // http://host:port, without /api/v1
	APIKey     string
	SSHAddress string // host:port of the SSH-over-TLS gateway
	CAFile     string // PEM CA bundle that signs the gateway's certificate
	VMDomain   string
	DataDir    string

	opts    Options
	logf    func(string, ...any)
	db      *store.DB
	vms     vmRuntime
	gateway *sshgw.Gateway
	http    *http.Server
	faults  *faultInjector
	hosts   *hostsFile // nil unless Options.HostsFile
	sshPort int

	orgs       []*org // the default organisation first
	orgsByName map[string]*org

	// layerMu orders layer creation against garbage collection: commits and
	// VM starts hold it shared, GC holds it exclusively, so GC never sees a
	// layer the sandbox made but the database does not know yet.
	layerMu sync.RWMutex
	// vmLocks serialises state changes of one VM (commit, pause, delete).
	vmLocks    idempotencyKeys
	idemKeys   idempotencyKeys
	idemSecret []byte // keys the ids derived from X-Idempotency-Key
	spoolDir   string // uploads are staged here, never held in memory
	execs      *execRegistry
	// execCtx outlives requests (a stream can be re-attached) and ends at Close.
	execCtx    context.Context
	execCancel context.CancelFunc

	statsMu sync.Mutex
	stats   Stats

	closeOnce sync.Once
	closeErr  error
	serveDone chan struct{}
}

// Stats counts what the server did since start (or ResetStats).
type Stats struct {
	Requests       map[string]int // route pattern ("GET /api/v1/commits") → count
	VMsCreated     int
	Commits        int
	FaultsInjected int
}

// Start opens the data directory, brings back the VMs that were running,
// removes layers nothing refers to, and starts the HTTP API and the SSH
// gateway. Close stops everything.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.DataDir == "" {
		return nil, errors.New("versd: Options.DataDir is required")
	}
	if opts.APIKey == "" {
		return nil, errors.New("versd: Options.APIKey is required")
	}
	opts.Listen = defaultString(opts.Listen, "127.0.0.1:0")
	opts.SSHListen = defaultString(opts.SSHListen, "127.0.0.1:0")
	opts.VMDomain = defaultString(opts.VMDomain, DefaultVMDomain)
	opts.OrgName = defaultString(opts.OrgName, "local")
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("versd: creating the data directory: %w", err)
	}
	// The directory may have existed with a wider mode; it holds every VM's
	// private key, so only versd's user may enter it.
	if err := os.Chmod(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("versd: restricting the data directory: %w", err)
	}
	s := &Server{
		APIKey: opts.APIKey, VMDomain: opts.VMDomain, DataDir: dataDir,
		opts: opts, logf: opts.Logf, execs: newExecRegistry(opts.ExecOutputBudget),
		stats: Stats{Requests: map[string]int{}}, serveDone: make(chan struct{}),
	}
	s.execCtx, s.execCancel = context.WithCancel(context.Background())
	if opts.Faults.Rate > 0 {
		if s.faults, err = newFaultInjector(opts.Faults); err != nil {
			return nil, fmt.Errorf("versd: %w", err)
		}
	}
	ok := false
	defer func() {
		if !ok {
			s.shutdown()
		}
	}()
	if s.db, err = store.Open(filepath.Join(dataDir, "versd.db")); err != nil {
		return nil, fmt.Errorf("versd: %w", err)
	}
	if err := s.setupOrgs(ctx); err != nil {
		return nil, err
	}
	s.spoolDir = filepath.Join(dataDir, "spool")
	if err := os.MkdirAll(s.spoolDir, 0o700); err != nil {
		return nil, fmt.Errorf("versd: %w", err)
	}
	if s.idemSecret, err = loadIdempotencySecret(ctx, s.db); err != nil {
		return nil, fmt.Errorf("versd: %w", err)
	}
	if s.vms, err = openSandbox(dataDir, opts.BaseRootfs, opts.Runtime, opts.Logf); err != nil {
		return nil, fmt.Errorf("versd: %w", err)
	}
	if err := s.recoverIntents(ctx); err != nil {
		return nil, err
	}
	if err := s.removeOrphanSandboxes(ctx); err != nil {
		return nil, err
	}
	if err := s.restoreVMs(ctx); err != nil {
		return nil, err
	}
	if err := s.publishBaseImage(ctx); err != nil {
		return nil, err
	}
	s.collectLayers(ctx)
	if err := s.startGateway(dataDir); err != nil {
		return nil, err
	}
	if err := s.startHTTP(); err != nil {
		return nil, err
	}
	if err := s.startHosts(ctx); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

func defaultString(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// restoreVMs starts again every VM the database records: with fresh process
// trees on their own (kept) writable layers. Memory is not snapshotted.
func (s *Server) restoreVMs(ctx context.Context) error {
	vms, err := s.db.ListVMs(ctx)
	if err != nil {
		return fmt.Errorf("versd: reading VMs: %w", err)
	}
	for _, vm := range vms {
		if err := s.vms.StartVM(ctx, vm.ID, vm.Layers, limitsOf(vm.Config)); err != nil {
			return fmt.Errorf("versd: restarting VM %s: %w", vm.ID, err)
		}
		if vm.State == "paused" {
			if err := s.vms.Pause(vm.ID); err != nil {
				return fmt.Errorf("versd: pausing VM %s again: %w", vm.ID, err)
			}
		}
	}
	if len(vms) > 0 {
		s.logf("versd: restarted %d VM(s)", len(vms))
	}
	return nil
}

// collectLayers deletes layers that no commit or VM refers to: leftovers of
// deleted commits and VMs, or of a crash between a sandbox commit and its
// database record. Failures are logged; the next pass retries.
func (s *Server) collectLayers(ctx context.Context) {
	s.layerMu.Lock()
	defer s.layerMu.Unlock()
	onDisk, err := s.vms.Layers()
	if err != nil {
		s.logf("versd: layer GC: listing layers: %v", err)
		return
	}
	used, err := s.db.ReferencedLayers(ctx)
	if err != nil {
		s.logf("versd: layer GC: %v", err)
		return
	}
	used[s.vms.BaseLayer()] = true
	for _, id := range onDisk {
		if used[id] {
			continue
		}
		if err := s.vms.DeleteLayers(id); err != nil {
			s.logf("versd: layer GC: %v", err)
		}
	}
}

func (s *Server) startGateway(dataDir string) error {
	ca, err := sshgw.LoadOrCreateAuthority(dataDir)
	if err != nil {
		return fmt.Errorf("versd: %w", err)
	}
	s.CAFile = filepath.Join(dataDir, "ca.pem")
	if data, err := os.ReadFile(s.CAFile); err != nil || string(data) != string(ca.CertPEM()) {
		if err := os.WriteFile(s.CAFile, ca.CertPEM(), 0o644); err != nil {
			return fmt.Errorf("versd: writing %s: %w", s.CAFile, err)
		}
	}
	cert, err := ca.ServerCertificate(s.VMDomain)
	if err != nil {
		return fmt.Errorf("versd: %w", err)
	}
	hostKey, err := loadOrCreateHostKey(filepath.Join(dataDir, "ssh_host_ed25519_key"))
	if err != nil {
		return fmt.Errorf("versd: %w", err)
	}
	s.gateway, err = sshgw.New(sshgw.Options{TLSCert: cert, HostKey: hostKey, Lookup: s.lookupVM, Domain: s.VMDomain, Logf: s.logf})
	if err != nil {
		return fmt.Errorf("versd: %w", err)
	}
	l, err := net.Listen("tcp", s.opts.SSHListen)
	if err != nil {
		return fmt.Errorf("versd: SSH gateway cannot listen on %s: %w", s.opts.SSHListen, err)
	}
	s.SSHAddress = l.Addr().String()
	s.sshPort = l.Addr().(*net.TCPAddr).Port
	go func() {
		if err := s.gateway.Serve(l); err != nil {
			s.logf("versd: SSH gateway stopped: %v", err)
		}
	}()
	return nil
}

// loadOrCreateHostKey keeps the gateway's SSH host key stable across restarts.
func loadOrCreateHostKey(path string) (ssh.Signer, error) {
	if data, err := os.ReadFile(path); err == nil {
		return ssh.ParsePrivateKey(data)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "versd host key")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	return ssh.NewSignerFromKey(priv)
}

func (s *Server) startHTTP() error {
	l, err := net.Listen("tcp", s.opts.Listen)
	if err != nil {
		return fmt.Errorf("versd: HTTP API cannot listen on %s: %w", s.opts.Listen, err)
	}
	s.URL = "http://" + l.Addr().String()
	var h http.Handler = s.routes()
	h = limitBody(h)
	h = s.authenticate(h)
	if s.faults != nil {
		h = s.injectFaults(h)
	}
	h = s.observe(h)
	if s.opts.Middleware != nil {
		h = s.opts.Middleware(h)
	}
	s.http = &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second, ErrorLog: nil}
	go func() {
		defer close(s.serveDone)
		if err := s.http.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logf("versd: HTTP server stopped: %v", err)
		}
	}()
	return nil
}

// Close stops the HTTP API and the gateway, stops the VMs' processes (their
// disks and records stay, so the next Start brings them back) and closes the
// database.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.shutdown() })
	return s.closeErr
}

func (s *Server) shutdown() error {
	var errs []error
	if s.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.http.Shutdown(ctx); err != nil {
			s.http.Close()
		}
		cancel()
		<-s.serveDone
	}
	s.execCancel()
	if s.hosts != nil {
		if err := s.hosts.remove(); err != nil {
			errs = append(errs, fmt.Errorf("versd: removing the hosts entries: %w", err))
		}
	}
	if s.gateway != nil {
		errs = append(errs, s.gateway.Close())
	}
	if s.vms != nil {
		errs = append(errs, s.vms.Close())
	}
	if s.db != nil {
		errs = append(errs, s.db.Close())
	}
	return errors.Join(errs...)
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	out := s.stats
	out.Requests = make(map[string]int, len(s.stats.Requests))
	for k, v := range s.stats.Requests {
		out.Requests[k] = v
	}
	return out
}

// ResetStats zeroes the counters.
func (s *Server) ResetStats() {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	s.stats = Stats{Requests: map[string]int{}}
}

func (s *Server) countRequest(route string) {
	s.statsMu.Lock()
	s.stats.Requests[route]++
	s.statsMu.Unlock()
}

func (s *Server) countFault() {
	s.statsMu.Lock()
	s.stats.FaultsInjected++
	s.statsMu.Unlock()
}

func (s *Server) countVMs(n int) {
	s.statsMu.Lock()
	s.stats.VMsCreated += n
	s.statsMu.Unlock()
}

func (s *Server) countCommit() {
	s.statsMu.Lock()
	s.stats.Commits++
	s.statsMu.Unlock()
}

// EnvExports returns the shell lines that point the provider (and the
// official SDKs) at this server. It contains the API key: show it to the
// user who started the server, never write it to a log.
func (s *Server) EnvExports() string {
	vars := map[string]string{
		"VERS_BASE_URL":    s.URL,
		"VERS_URL":         s.CLIURL(), // the official CLI reads VERS_URL
		"VERS_API_KEY":     s.APIKey,
		"VERS_SSH_ADDRESS": s.SSHAddress,
		"VERS_SSH_CA_FILE": s.CAFile,
		"VERS_VM_DOMAIN":   s.VMDomain,
	}
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		fmt.Fprintf(&b, "export %s=%s\n", k, shellQuote(vars[k]))
	}
	return b.String()
}

// CLIURL is the API URL for the official CLI: with Options.APIHost, the
// listen port under that name, so the CLI derives VM host names that the
// gateway's certificate and (with HostsFile) the hosts file know.
func (s *Server) CLIURL() string {
	if s.opts.APIHost == "" {
		return s.URL
	}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(s.URL, "http://"))
	return "http://" + net.JoinHostPort(s.opts.APIHost, port)
}

// vmHostName is the name a client (TLS SNI, hosts file) uses for a VM.
func (s *Server) vmHostName(id string) string { return id + "." + s.VMDomain }

func (s *Server) startHosts(ctx context.Context) error {
	if s.opts.HostsFile == "" {
		return nil
	}
	var static []string
	if s.opts.APIHost != "" {
		static = append(static, s.opts.APIHost)
	}
	h := newHostsFile(s.opts.HostsFile, s.VMDomain, static...)
	vms, err := s.db.ListVMs(ctx)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(vms))
	for _, vm := range vms {
		names = append(names, s.vmHostName(vm.ID))
	}
	if err := h.reset(names); err != nil {
		return fmt.Errorf("versd: --manage-hosts: %w", err)
	}
	s.hosts = h
	return nil
}

// noteVMHost adds or removes a VM's hosts entry; failures are logged, as
// the VM itself is fine and the API still reaches it.
func (s *Server) noteVMHost(id string, live bool) {
	if s.hosts == nil {
		return
	}
	if err := s.hosts.set(s.vmHostName(id), live); err != nil {
		s.logf("versd: updating %s: %v", s.opts.HostsFile, err)
	}
}

func shellQuote(v string) string {
	if v != "" && strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/") == "" {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}
