package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/ctlops/ctlops/spec"
)

// addTrustFlag registers --trusted-spec on a command that sends credentials (plan, apply,
// drift, unlock).
func addTrustFlag(cmd *cobra.Command, path *string) {
	cmd.Flags().StringVar(path, "trusted-spec", "", "send credentials only to the endpoints and trust anchors of this spec or connections file, e.g. the base branch's checkout (default $"+spec.TrustedSpecEnv+"); a spec that moves a host, a pin, a CA or a secret is refused")
}

// loadTrusted loads the spec at path and, when trusted (or $CTLOPS_TRUSTED_SPEC) names the
// trusted connections, refuses it before anything is sent if a cluster's connection settings
// differ from them (spec.Config.Pin). A pull request's spec is reviewed after CI runs plan on
// it, so what decides where a password goes cannot come from that spec alone.
func loadTrusted(path, trusted string, stderr io.Writer) (*spec.Config, error) {
	return loadTrustedWith(path, trusted, spec.LoadOptions{}, stderr)
}

// loadTrustedWith is loadTrusted with load options (--expiry-window).
func loadTrustedWith(path, trusted string, o spec.LoadOptions, stderr io.Writer) (*spec.Config, error) {
	cfg, err := loadSpecWith(path, o, stderr)
	if err != nil {
		return nil, err
	}
	if err := pinTrusted(cfg, trusted); err != nil {
		return nil, err
	}
	return cfg, nil
}

// pinTrusted checks a loaded spec against the trusted connections, if any are named.
func pinTrusted(cfg *spec.Config, trusted string) error {
	if trusted == "" {
		trusted = os.Getenv(spec.TrustedSpecEnv)
	}
	if trusted == "" {
		return nil
	}
	t, err := spec.LoadTrusted(trusted)
	if err != nil {
		return fmt.Errorf("trusted connections %s do not load:\n%w", trusted, err)
	}
	if err := cfg.Pin(t); err != nil {
		return fmt.Errorf("refused before connecting: connection settings differ from the trusted connections in %s, and no credential was sent:\n%w", trusted, err)
	}
	return nil
}
