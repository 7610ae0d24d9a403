package platform

import (
	"context"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/ctlops/ctlops/internal/termsafe"
)

// Timeouts of the slow commands. Restart durations are undocumented [unconfirmed]; these are
// generous and each call can override them with RunWith.
const (
	CTLCommandTimeout = 10 * time.Minute
	RestartTimeout    = 15 * time.Minute
)

// NetworkCluster runs `show network cluster`.
func (s *Session) NetworkCluster(ctx context.Context) (*Cluster, error) {
	out, err := s.Run(ctx, cmdNetworkCluster)
	if err != nil {
		return nil, err
	}
	return at[*Cluster](s)(ParseNetworkCluster(out))
}

// Version runs `show version active`.
func (s *Session) Version(ctx context.Context) (*Version, error) {
	out, err := s.Run(ctx, cmdVersion)
	if err != nil {
		return nil, err
	}
	return at[*Version](s)(ParseVersion(out))
}

// Cert units `show cert own` is asked for.
const (
	UnitCallManager = "CallManager"
	UnitCAPF        = "CAPF"
	UnitITLRecovery = "ITLRecovery"
)

// CertOwn runs `show cert own <unit>` and returns the node's certificate.
func (s *Session) CertOwn(ctx context.Context, unit string) (*x509.Certificate, error) {
	switch unit {
	case UnitCallManager, UnitCAPF, UnitITLRecovery:
	default:
		return nil, fmt.Errorf("unknown certificate unit %q", termsafe.Line(unit))
	}
	out, err := s.Run(ctx, "show cert own "+unit)
	if err != nil {
		return nil, err
	}
	return at[*x509.Certificate](s)(ParseCertOwn(unit, out))
}

// ShowCTL runs `show ctl`.
func (s *Session) ShowCTL(ctx context.Context) (*ShowCTL, error) {
	out, err := s.Run(ctx, cmdShowCTL)
	if err != nil {
		return nil, err
	}
	return at[*ShowCTL](s)(ParseShowCTL(out))
}

// Replication runs `utils dbreplication runtimestate` (publisher only).
func (s *Session) Replication(ctx context.Context) (*Replication, error) {
	out, err := s.RunWith(ctx, cmdReplication, Options{Timeout: 5 * time.Minute})
	if err != nil {
		return nil, err
	}
	return at[*Replication](s)(ParseReplication(out))
}

// CTL runs one of the three CTL commands on the publisher, answering its confirmation only
// when it is exactly the one that command asks (CheckPrompt).
func (s *Session) CTL(ctx context.Context, cmd CTLCommand) error {
	if _, ok := ctlDone[cmd]; !ok {
		return fmt.Errorf("not a CTL command: %q", termsafe.Line(string(cmd)))
	}
	var prompt string
	out, err := s.RunWith(ctx, string(cmd), Options{Timeout: CTLCommandTimeout, Confirm: func(p string) error {
		prompt = p
		return CheckPrompt(cmd, p)
	}})
	if err != nil {
		return err
	}
	if prompt == "" {
		return fmt.Errorf("%s: %w", termsafe.Line(s.Addr), unknown(string(cmd), "CUCM asked no confirmation; the answer is not trusted", out))
	}
	if err := ParseCTLCommand(cmd, out); err != nil {
		return fmt.Errorf("%s: %w", termsafe.Line(s.Addr), err)
	}
	return nil
}

// Services whose restart R23 asks for (§2.12: the TFTP service is "Cisco Tftp").
const (
	ServiceTFTP        = "Cisco Tftp"
	ServiceCallManager = "Cisco CallManager"
)

// RestartService runs `utils service restart <svc>` and waits for [STARTED].
func (s *Session) RestartService(ctx context.Context, svc string) error {
	switch svc {
	case ServiceTFTP, ServiceCallManager, "Cisco CTIManager", "Cisco Trust Verification Service":
	default:
		return fmt.Errorf("restart of %q is not something ctlops does", termsafe.Line(svc))
	}
	out, err := s.RunWith(ctx, "utils service restart "+svc, Options{Timeout: RestartTimeout})
	if err != nil {
		return err
	}
	if err := ParseServiceRestart(svc, out); err != nil {
		return fmt.Errorf("%s: %w", termsafe.Line(s.Addr), err)
	}
	return nil
}

// at names the node in a parser's error.
func at[T any](s *Session) func(T, error) (T, error) {
	return func(v T, err error) (T, error) {
		if err != nil {
			var zero T
			return zero, fmt.Errorf("%s: %w", termsafe.Line(s.Addr), err)
		}
		return v, nil
	}
}
