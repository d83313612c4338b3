// Command terraform-provider-vers serves the Vers Terraform provider over
// plugin protocol 6.
package main

import (
	"context"
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/vers-sh/terraform-provider-vers/internal/provider"
)

// version is stamped by goreleaser through -ldflags "-X main.version=...".
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/vers-sh/vers",
		Debug:   debug,
	})
	if err != nil {
		log.Fatal(err.Error())
	}
}
