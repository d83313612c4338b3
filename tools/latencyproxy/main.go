// Command latencyproxy forwards TCP connections to a target with a fixed
// round-trip time added, to try the provider as if versd were far away:
//
//	go run ./tools/latencyproxy -listen 127.0.0.1:7000 -target 127.0.0.1:8443 -rtt 20ms
//
// Put one in front of versd's API and one in front of its SSH gateway and
// point VERS_BASE_URL and VERS_SSH_ADDRESS at them.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/vers-sh/terraform-provider-vers/internal/latencyproxy"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	target := flag.String("target", "", "host:port to forward to (required)")
	rtt := flag.Duration("rtt", 0, "round-trip time to add, e.g. 20ms")
	flag.Parse()
	if *target == "" {
		fmt.Fprintln(os.Stderr, "latencyproxy: -target is required")
		os.Exit(2)
	}
	p, err := latencyproxy.Start(*listen, *target, *rtt)
	if err != nil {
		fmt.Fprintln(os.Stderr, "latencyproxy:", err)
		os.Exit(1)
	}
	fmt.Printf("latencyproxy: %s -> %s, +%v RTT\n", p.Addr(), *target, *rtt)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
	p.Close()
}
