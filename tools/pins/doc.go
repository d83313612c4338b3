// Package pins pins developer tools (tfplugindocs, staticcheck) in their own
// module, so their dependency trees stay out of the provider's go.mod.
// The GNUmakefile runs them with `go tool -modfile=tools/pins/go.mod …`.
package pins
