// Package cucm holds the value types of a CallManager cluster as ctlops sees it: its security
// mode (R9), its servers and their functions, and the inventory a CTL is built from (R14).
//
// They are shared by the planner (which must not touch the network), the spec loader and the
// transports, so this package imports nothing of the project but ctl's file-name constant and
// nothing of the network: plan and provider both import it, neither imports the other.
package cucm

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/netip"

	"github.com/ctlops/ctlops/internal/termsafe"
)

// FileName is the CTL file's name in a TFTP FileLocation (R4).
const FileName = "CTLFile.tlv"

// Digest is the identity of a CTL file wherever it is compared: the lower-case hex SHA-256 of
// its bytes. Every transport reports it as the file's ETag, plans store it, drift compares it.
func Digest(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// Mode is the cluster-wide security mode (R9).
type Mode string

const (
	// ModeMixed lets authenticated and encrypted phones register beside non-secure ones.
	ModeMixed Mode = "mixed"
	// ModeNonSecure keeps the CTL file but without certificates (R12).
	ModeNonSecure Mode = "non-secure"
)

// ParseMode accepts the two modes of R9.
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case ModeNonSecure, ModeMixed:
		return Mode(s), nil
	}
	return "", fmt.Errorf("unknown security mode %q (want %q or %q)", s, ModeMixed, ModeNonSecure)
}

// Role is a server function as the inventory reports it; CTL roles (CCM+TFTP etc.) are derived
// from these by the planner.
type Role string

const (
	RoleCCM  Role = "CCM"
	RoleTFTP Role = "TFTP"
	RoleCAPF Role = "CAPF"
)

// Inventory is what one CTL Provider knows of its cluster: everything CCM, TFTP and CAPF
// records are built from (R14).
type Inventory struct {
	Cluster          string   `json:"cluster"`
	Version          string   `json:"version"` // CallManager version; alternate TFTP clusters must match (R17)
	Mode             Mode     `json:"mode"`
	AutoRegistration bool     `json:"autoRegistration"` // off in mixed mode (R11)
	FileLocation     string   `json:"fileLocation"`     // must be the same path on all servers (R17)
	Servers          []Server `json:"servers"`
}

// Server is one node of the cluster. Error is set, and the other fields beyond Name and Provider
// may be empty, when the answering node could not reach it (R26).
type Server struct {
	Name         string        `json:"name"`
	DNSName      string        `json:"dnsName"`
	IPv4         netip.Addr    `json:"ipv4"`
	Roles        []Role        `json:"roles"`
	Provider     string        `json:"provider"` // host:port of its CTL Provider
	Certificates []Certificate `json:"certificates"`
	Error        string        `json:"error,omitempty"`
}

// HasRole reports whether the server runs the given function.
func (s *Server) HasRole(r Role) bool {
	for _, x := range s.Roles {
		if x == r {
			return true
		}
	}
	return false
}

// Certificate is a server certificate for one function: the CallManager certificate (role CCM,
// also used for TFTP) or the CAPF certificate.
type Certificate struct {
	Role Role              `json:"role"`
	PEM  string            `json:"pem"`
	X509 *x509.Certificate `json:"-"` // parsed from PEM by every reader
}

// Certificate returns the server's certificate for the role, or nil.
func (s *Server) Certificate(r Role) *Certificate {
	for i := range s.Certificates {
		if s.Certificates[i].Role == r {
			return &s.Certificates[i]
		}
	}
	return nil
}

// ParseCertificates fills X509 from PEM, so that consumers never parse twice nor trust a PEM
// that does not parse. Every reader of an inventory calls it before handing the inventory on.
func (inv *Inventory) ParseCertificates() error {
	for i := range inv.Servers {
		s := &inv.Servers[i]
		for j := range s.Certificates {
			c := &s.Certificates[j]
			b, _ := pem.Decode([]byte(c.PEM))
			if b == nil || b.Type != "CERTIFICATE" {
				return fmt.Errorf("server %s: %s certificate is not a PEM certificate", shown(s.Name), shown(string(c.Role)))
			}
			x, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return fmt.Errorf("server %s: %s certificate: %w", shown(s.Name), shown(string(c.Role)), err)
			}
			c.X509 = x
		}
	}
	return nil
}

// Service is a CallManager service that a restart names (R23).
type Service string

const (
	ServiceCallManager Service = "callmanager"
	ServiceTFTP        Service = "tftp"
)

// shown makes a name a server reported safe for a terminal and short enough for one line.
func shown(s string) string {
	if len(s) > 128 {
		s = s[:128] + "..."
	}
	return termsafe.Line(s)
}
