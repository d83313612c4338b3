// Package reliability holds the cross-cutting tests of issue 8: applies under
// injected faults, crash recovery of versd, isolation and secret hygiene, a
// table of malformed inputs, and a load benchmark. It has no production code;
// RELIABILITY.md at the repository root says what the tests guarantee.
package reliability
