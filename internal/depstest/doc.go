// Package depstest holds the dependency-policy test (deps_test.go), in the style of Go's own
// go/build/deps_test.go: which project packages each package may import, and which networking,
// process and terminal packages the pure layers (ctl, cucm, spec, plan) must never reach,
// however indirectly. A new edge fails the test until the policy says it is wanted.
package depstest
