package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/ctlops/ctlops/spec"
)

// addExpiryFlag registers --expiry-window on validate, plan, apply, drift and watch: it overrides the
// spec's expiryWarning (the file's and every cluster's) for this run, spelt as inspect's
// --expiry-window (parseWindow: 90d or 720h). Unset, the spec's window stands (30 days when
// it sets none).
func addExpiryFlag(cmd *cobra.Command, window *string) {
	cmd.Flags().StringVar(window, "expiry-window", "", "warn about certificates expiring within this time (e.g. 90d, 720h), overriding the spec's expiryWarning (default: the spec's, else 30d)")
}

// loadOptions turns --expiry-window into the spec's load options.
func loadOptions(window string) (spec.LoadOptions, error) {
	if window == "" {
		return spec.LoadOptions{}, nil
	}
	d, err := parseWindow(window)
	if err != nil {
		return spec.LoadOptions{}, fmt.Errorf("--expiry-window: %w", err)
	}
	if d > spec.MaxExpiryWarning {
		return spec.LoadOptions{}, fmt.Errorf("--expiry-window: %q is more than ten years (3650d), the longest window the spec's expiryWarning and a saved plan allow", window)
	}
	return spec.LoadOptions{ExpiryWarning: &d}, nil
}

// load loads the spec of plan, apply or drift with their --expiry-window and
// --trusted-spec.
func (f *planFlags) load(stderr io.Writer) (*spec.Config, error) {
	o, err := loadOptions(f.expiryWindow)
	if err != nil {
		return nil, err
	}
	return loadTrustedWith(f.file, f.trusted, o, stderr)
}
