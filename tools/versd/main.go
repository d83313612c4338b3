// Command versd runs the local, API-compatible Vers server. It prints the
// environment exports that point the provider and the official CLI at it.
//
//	go run ./tools/versd --data ./.versd
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/vers-sh/terraform-provider-vers/internal/versd"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "versd:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		opts       versd.Options
		apiKey     = flag.String("api-key", "", "DEPRECATED: visible to every local user in /proc/<pid>/cmdline; use $VERSD_API_KEY or --api-key-file")
		apiKeyFile = flag.String("api-key-file", "", "file holding the bearer key clients must send (default: $VERSD_API_KEY, else one generated and kept in the data directory)")
		faultKind  = flag.String("fault-kinds", "", "comma-separated fault kinds to inject: "+strings.Join(versd.FaultKinds, ","))
		quiet      = flag.Bool("quiet", false, "do not log one line per request")
		memLimit   = flag.Int64("memory-limit-mib", 0, "soft memory limit of the Go runtime in MiB (like GOMEMLIMIT; 0 leaves it unset): the garbage collector works harder near it")
		outBudget  = flag.Int64("exec-output-budget-mib", versd.DefaultExecOutputBudget>>20, "MiB of exec output kept in memory over all VMs for re-attach and logs; the oldest goes first")
		official   = flag.Bool("official-cli", false, "serve the unmodified official vers CLI: SSH gateway on 127.0.0.1:443 (unless --ssh-listen is given) and VERS_URL under api.<domain without vm.>, from which the CLI derives <vm>.<vm-domain>")
		manage     = flag.Bool("manage-hosts", false, "keep a marked block in the hosts file mapping the API host and every live VM's <vm>.<vm-domain> to 127.0.0.1; removed at exit")
		hostsFile  = flag.String("hosts-file", "/etc/hosts", "hosts file that --manage-hosts edits")
		orgsFile   = flag.String("orgs-file", "", "file of more organisations, one per line: ORG_NAME API_KEY (# comments); must not be readable by group or others. Objects are private to their organisation")
	)
	flag.StringVar(&opts.OrgName, "org-name", "local", "name of the default organisation, whose key is --api-key-file / $VERSD_API_KEY / the generated one")
	flag.StringVar(&opts.Listen, "listen", "127.0.0.1:8787", "HTTP API address")
	flag.StringVar(&opts.SSHListen, "ssh-listen", "127.0.0.1:8443", "SSH-over-TLS gateway address")
	flag.StringVar(&opts.DataDir, "data", "./.versd", "data directory: metadata database, layers, CA")
	flag.StringVar(&opts.VMDomain, "vm-domain", versd.DefaultVMDomain, "domain of VM host names (<vm_id>.<domain>) in the gateway's certificate")
	flag.StringVar(&opts.BaseRootfs, "base-rootfs", "", "directory or tarball used as the root filesystem of new_root VMs (default: busybox)")
	flag.StringVar(&opts.Runtime, "runtime", "runc", "OCI runtime binary that runs VMs (path or name on PATH)")
	flag.Float64Var(&opts.Faults.Rate, "fault-rate", 0, "fraction of API requests (0..1) that get an injected fault; 0 disables fault injection")
	flag.Int64Var(&opts.Faults.Seed, "fault-seed", 1, "seed of the fault sequence")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q; see --help", flag.Args())
	}
	sshListenSet := false
	flag.Visit(func(f *flag.Flag) { sshListenSet = sshListenSet || f.Name == "ssh-listen" })
	if err := applyCLIMode(&opts, *official, sshListenSet, *manage, *hostsFile); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errors.New("versd needs root (it creates namespaces and overlay mounts for its VMs); run it with sudo or as root")
	}
	kinds, err := versd.ParseFaultKinds(*faultKind)
	if err != nil {
		return err
	}
	opts.Faults.Kinds = kinds
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return fmt.Errorf("creating the data directory: %w", err)
	}
	logger := log.New(os.Stderr, "", log.LstdFlags)
	if *memLimit < 0 || *memLimit > 1<<30 {
		return fmt.Errorf("--memory-limit-mib %d is out of range (0 to %d)", *memLimit, int64(1<<30))
	}
	if *memLimit > 0 {
		debug.SetMemoryLimit(*memLimit << 20)
	}
	if *outBudget < 1 || *outBudget > 1<<20 {
		return fmt.Errorf("--exec-output-budget-mib %d is out of range (1 to %d)", *outBudget, int64(1<<20))
	}
	opts.ExecOutputBudget = *outBudget << 20
	if *apiKey != "" {
		logger.Printf("versd: warning: --api-key is visible to every local user (ps, /proc/<pid>/cmdline); use VERSD_API_KEY or --api-key-file instead")
	}
	if *apiKeyFile != "" {
		if *apiKey != "" {
			return errors.New("--api-key and --api-key-file both given; keep --api-key-file")
		}
		data, err := os.ReadFile(*apiKeyFile)
		if err != nil {
			return fmt.Errorf("reading --api-key-file: %w", err)
		}
		if *apiKey = strings.TrimSpace(string(data)); *apiKey == "" {
			return fmt.Errorf("--api-key-file %s is empty", *apiKeyFile)
		}
	}
	if opts.APIKey, err = resolveAPIKey(*apiKey, opts.DataDir); err != nil {
		return err
	}
	if *orgsFile != "" {
		if opts.Orgs, err = readOrgsFile(*orgsFile); err != nil {
			return err
		}
	}
	opts.Logf = logger.Printf
	if *quiet {
		opts.Logf = func(format string, args ...any) {
			if !strings.HasPrefix(format, "versd: %s %d %s") {
				logger.Printf(format, args...)
			}
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := versd.Start(ctx, opts)
	if err != nil {
		return err
	}
	fmt.Printf("# versd is listening; paste these lines into your shell:\n%s", srv.EnvExports())
	if len(opts.Orgs) > 0 {
		names := []string{}
		for _, o := range opts.Orgs {
			names = append(names, o.Name)
		}
		// Names only: the keys are in the orgs file and nowhere else.
		logger.Printf("versd: organisations: %s (the exports above), %s (keys in %s)", opts.OrgName, strings.Join(names, ", "), *orgsFile)
	}
	if *official {
		if _, port, _ := net.SplitHostPort(srv.SSHAddress); port != "443" {
			logger.Printf("versd: warning: the official CLI dials port 443, but the gateway listens on %s", srv.SSHAddress)
		}
		if !*manage {
			logger.Printf("versd: without --manage-hosts, make %s and *.%s resolve to 127.0.0.1 yourself", opts.APIHost, opts.VMDomain)
		}
	}
	if opts.Faults.Rate > 0 {
		logger.Printf("versd: injecting faults into %.0f%% of API requests (seed %d)", opts.Faults.Rate*100, opts.Faults.Seed)
	}
	<-ctx.Done()
	stop()
	logger.Printf("versd: shutting down (VMs and data are kept in %s)", srv.DataDir)
	return srv.Close()
}

// applyCLIMode turns --official-cli and --manage-hosts into Options. The
// official CLI dials <vm>.vm.X:443 where api.X is its VERS_URL host, so the
// API host is named after the VM domain and the gateway moves to 443.
func applyCLIMode(opts *versd.Options, official, sshListenSet, manageHosts bool, hostsFile string) error {
	if official {
		rest, ok := strings.CutPrefix(opts.VMDomain, "vm.")
		if !ok || rest == "" {
			return fmt.Errorf("--official-cli needs a --vm-domain of the form vm.X (the CLI derives vm.X from api.X), got %q", opts.VMDomain)
		}
		opts.APIHost = "api." + rest
		if !sshListenSet {
			opts.SSHListen = "127.0.0.1:443"
		}
	}
	if manageHosts {
		if hostsFile == "" {
			return errors.New("--manage-hosts needs a --hosts-file")
		}
		opts.HostsFile = hostsFile
	}
	return nil
}

// resolveAPIKey picks the flag (or the file it names), then $VERSD_API_KEY, then the key stored in
// the data directory, and otherwise generates and stores one, so restarts
// keep the key users already exported.
func resolveAPIKey(flagKey, dataDir string) (string, error) {
	if flagKey != "" {
		return flagKey, nil
	}
	if k := os.Getenv("VERSD_API_KEY"); k != "" {
		return k, nil
	}
	path := filepath.Join(dataDir, "api-key")
	data, err := os.ReadFile(path)
	if err == nil && strings.TrimSpace(string(data)) != "" {
		return strings.TrimSpace(string(data)), nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	key := "versd-" + hex.EncodeToString(b[:])
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("storing the generated API key: %w", err)
	}
	return key, nil
}

// readOrgsFile reads --orgs-file: one organisation per line, "ORG_NAME
// API_KEY", blank lines and # comments ignored. Keys live in a file rather
// than on the command line, where every local user could read them in
// /proc/<pid>/cmdline; like ssh with its keys, a file group or others may
// read is refused. Errors name lines and organisations, never a key.
func readOrgsFile(path string) ([]versd.OrgKey, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("--orgs-file: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("--orgs-file %s holds API keys but its mode is %04o; make it private with chmod 600 %s", path, st.Mode().Perm(), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--orgs-file: %w", err)
	}
	var orgs []versd.OrgKey
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 {
			return nil, fmt.Errorf("--orgs-file %s line %d: want ORG_NAME API_KEY (two fields), got %d fields", path, i+1, len(fields))
		}
		orgs = append(orgs, versd.OrgKey{Name: fields[0], APIKey: fields[1]})
	}
	if len(orgs) == 0 {
		return nil, fmt.Errorf("--orgs-file %s lists no organisation", path)
	}
	return orgs, nil
}
