// Package spec loads the desired state of CallManager clusters from YAML kept in Git.
//
// The file format is deliberately small: per cluster its security mode (R9), where to reach its
// CTL Providers (R7) and with which credentials (R25), the security tokens by certificate (R15,
// R16) and the alternate TFTP servers (R15, R17). Everything else in a CTL is discovered from the
// cluster (R14), so it is not declared here.
//
// Loading goes through yaml.Node so that every problem carries file:line:column, and it reports
// every problem of every file at once: a reviewer fixing a pull request should not have to run
// the tool once per typo. Secrets are references ({env: NAME} or {file: PATH}) resolved only
// when needed; a literal password or PIN is refused wherever it appears.
package spec

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/ctlops/ctlops/cucm"
)

// DefaultExpiryWarning is the expiry warning window when the spec sets none: long enough to
// order and enrol a replacement eToken before phones stop trusting the old one.
const DefaultExpiryWarning = 30 * 24 * time.Hour

// MaxExpiryWarning is the longest expiry warning window: expiryWarning, --expiry-window and
// the window a saved plan records are refused beyond it.
const MaxExpiryWarning = 3650 * 24 * time.Hour

// Version is the only file format version this package reads.
const Version = 1

// DefaultProviderPort is the CTL Provider's default TLS port (R7).
const DefaultProviderPort = 2444

// DefaultTFTPPort is the standard TFTP port, used by tftp:// sources without a port.
const DefaultTFTPPort = 69

// Pos is where an item was declared, kept so that later stages (planner, applier) can point
// at the line of YAML a reviewer should look at.
type Pos struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"column,omitempty"`
}

func (p Pos) String() string {
	switch {
	case p.File == "":
		return ""
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return p.File + ":" + strconv.Itoa(p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Mode is the cluster-wide security mode (R9): one type, cucm.Mode, for the spec, the planner
// and the transports.
type Mode = cucm.Mode

const (
	// ModeMixed lets authenticated and encrypted phones register beside non-secure ones.
	ModeMixed = cucm.ModeMixed
	// ModeNonSecure keeps the CTL file but without certificates (R12).
	ModeNonSecure = cucm.ModeNonSecure
)

// Config is the whole desired state: every cluster of every file loaded.
type Config struct {
	Version  int
	Clusters []*Cluster
	// Files are the YAML files read, in the order read.
	Files []string
	// digest is computed while loading, when the bytes are at hand.
	digest string
	// root is the absolute directory of the spec (the file's folder, or the directory given):
	// paths inside it are compared relative to it when checking against trusted connections,
	// so two checkouts of one repository agree.
	root string
}

// Cluster returns the cluster with that name, or nil.
func (c *Config) Cluster(name string) *Cluster {
	for _, cl := range c.Clusters {
		if cl.Name == name {
			return cl
		}
	}
	return nil
}

// Digest is "sha256:<hex>" over the YAML files and every certificate they reference (not the
// secrets: a hash of a short password is as good as the password). Saved plans record it so
// that applying a plan made from another version of the spec is refused. It does not depend on
// the directory the spec was loaded from, so two checkouts of the same commit agree.
func (c *Config) Digest() string { return c.digest }

// Cluster is one CallManager cluster's declared state.
type Cluster struct {
	Name string
	Mode Mode
	// Providers are where the live state is read (and, for CTL Providers, written).
	Providers   []Provider
	Credentials *Credentials // nil when every provider is read-only (tftp://, dir://)
	TLS         *TLS         // nil when there is no CTL Provider to connect to
	// Tokens are the SAST entries (R15, R16), in declared order.
	Tokens []Token
	// RetiredTokens are tokens no longer declared whose signature on the live file is known
	// (retired.go): without them a file signed by an undeclared key refuses the plan as
	// possible tampering (R19). They sign nothing and are in no new file.
	RetiredTokens []Token
	AlternateTFTP []AlternateTFTP
	SignWith      *SignWith // nil: apply must be told how to sign
	// ExpectServers, when non-nil, is the inventory the cluster is expected to report (R14):
	// a server that appears or vanishes is drift rather than a silent change.
	ExpectServers []ExpectedServer
	// Signing is who signs the CTL: tokens (the default) or CUCM itself (tokenless), in which
	// case Platform says how to reach it and Providers, Tokens, SignWith are empty.
	Signing  Signing
	Platform *Platform
	// PhoneModels are the phone models the cluster runs (CUCM names, spec/phones.go); nil
	// means every model ctlops knows.
	PhoneModels []string
	// Suspend keeps drift reported but refuses apply, e.g. during a CallManager upgrade.
	Suspend bool
	// Serviceability, when declared, is where the rollout's APIs are reached (serviceability.go).
	Serviceability *Serviceability
	// ExpiryWarning is how long before a token certificate's NotAfter validate, plan and drift
	// warn: the cluster's expiryWarning, else its file's, else DefaultExpiryWarning.
	ExpiryWarning time.Duration
	Pos           Pos
}

// ProviderKind says how a provider is reached.
type ProviderKind string

const (
	// KindCTLProvider is the CTL Provider service over TLS (R7): read and write.
	KindCTLProvider ProviderKind = "ctl-provider"
	// KindTFTP reads CTLFile.tlv as phones do (R4): read-only.
	KindTFTP ProviderKind = "tftp"
	// KindDir reads a TFTP FileLocation directory mapped on this machine: read-only.
	KindDir ProviderKind = "dir"
)

// Provider is one place the cluster's live state is read from.
type Provider struct {
	Kind ProviderKind
	Host string // KindCTLProvider, KindTFTP
	Port int    // KindCTLProvider (default 2444), KindTFTP (default 69)
	Dir  string // KindDir: absolute path
	Pos  Pos
}

// Addr is host:port for network providers, the directory for dir providers.
func (p Provider) Addr() string {
	if p.Kind == KindDir {
		return p.Dir
	}
	return net.JoinHostPort(p.Host, strconv.Itoa(p.Port))
}

func (p Provider) String() string {
	switch p.Kind {
	case KindTFTP:
		return "tftp://" + p.Addr()
	case KindDir:
		return "dir://" + p.Dir
	}
	return p.Addr()
}

// ReadOnly reports whether the provider can only be read (drift checks, never apply).
func (p Provider) ReadOnly() bool { return p.Kind != KindCTLProvider }

// Credentials are the admin user and password, the same on every server of a cluster (R25).
type Credentials struct {
	Username string
	Password SecretRef
	Pos      Pos
}

// TLS says how to trust the CTL Providers' certificates: a CA, pinned certificates, or both
// (a server passes when either accepts it).
type TLS struct {
	CAFile string              // absolute path, "" when not set
	CA     []*x509.Certificate // the certificates in CAFile
	// Pins are lower-case hex SHA-256 digests of server certificates (DER), the form
	// ctl.Fingerprint returns.
	Pins []string
	Pos  Pos

	poolOnce sync.Once
	pool     *x509.CertPool
}

// CertPool returns the CA certificates as a pool, nil when no CA is declared. It is the same
// pool at every call, so that TLS sessions made under it can be resumed (provider keys its
// session caches by pool).
func (t *TLS) CertPool() *x509.CertPool {
	if t == nil || len(t.CA) == 0 {
		return nil
	}
	t.poolOnce.Do(func() {
		t.pool = x509.NewCertPool()
		for _, c := range t.CA {
			t.pool.AddCert(c)
		}
	})
	return t.pool
}

// Token is a security token (SAST, R15) identified by its certificate, never by a secret.
type Token struct {
	Name     string
	CertFile string // absolute path
	Cert     *x509.Certificate
	Pos      Pos
}

// Fingerprint is the lower-case hex SHA-256 of the token certificate (DER).
func (t Token) Fingerprint() string {
	if t.Cert == nil {
		return ""
	}
	sum := sha256.Sum256(t.Cert.Raw)
	return hex.EncodeToString(sum[:])
}

// AlternateTFTP is a TFTP server outside the cluster's own inventory whose CTL entry is added
// by hand (R15), often a TFTP server of another cluster (R17).
type AlternateTFTP struct {
	Host string
	// Port is the CTL Provider port on that server (its certificate is read and the CTL
	// pushed there, R23), default 2444.
	Port int
	// Cluster names the declared cluster the server belongs to, "" when it is not declared
	// here; when set, the two clusters' modes must match (R17).
	Cluster string
	Pos     Pos
}

// Addr is host:port of the server's CTL Provider.
func (a AlternateTFTP) Addr() string { return net.JoinHostPort(a.Host, strconv.Itoa(a.Port)) }

// SignWith says how apply signs: exactly one of PKCS11 and Software is set.
type SignWith struct {
	PKCS11   *PKCS11
	Software *SoftwareKey
	// Hash is "sha1", "sha256" or "sha512"; "" means keep the installed CTL's algorithm.
	Hash string
	Pos  Pos
}

// PKCS11 selects a hardware token (a SafeNet eToken; SoftHSM2 in tests). Which token is used is
// decided at apply time when neither TokenLabel nor TokenSerial is set (R20: one at a time).
type PKCS11 struct {
	Module      string // path of the PKCS#11 library, absolute when it was given with a slash
	TokenLabel  string
	TokenSerial string
	PIN         *SecretRef // nil: prompt for it (R21)
	Pos         Pos
}

// SoftwareKey is a private key in a file, for labs only.
type SoftwareKey struct {
	KeyFile  string // absolute path; read by the token package, never by spec
	CertFile string // absolute path
	Cert     *x509.Certificate
	Pos      Pos
}

// ExpectedServer is one server the cluster is expected to report in its inventory.
type ExpectedServer struct {
	Host  string
	IP    string   // "" when not asserted
	Roles []string // of "CCM", "TFTP", "CAPF"; empty when not asserted
	Pos   Pos
}
