// Package adopt brings a cluster that already runs a CTL under ctlops: it reads the live state
// through the read-only provider readers (a real CUCM's TFTP server, ctlops' own CTL Provider
// protocol, a mapped FileLocation) and writes a spec and the certificate files it names, so
// that `ctlops validate` passes and `ctlops plan` / `drift` against the same cluster report
// no change (issue 17, "Adopt and look"). It also renders a live CTL the way CUCM's
// `show ctl` does (show.go).
//
// Everything read from the cluster is untrusted: names and hosts from the file or the
// inventory become file names only after sanitising (names.go), go into YAML only as yaml.v3
// scalar nodes (yaml.go, never by string concatenation), and reach a terminal only through
// internal/termsafe (the callers in cmd/ctlops print Result with it).
//
// Tokenless clusters. A CUCM tokenless CTL (10.x: signed by the publisher's CallManager
// certificate; 12.x+: by ITLRecovery) holds two SAST records that are not eTokens. The spec's
// `signing: tokenless` kind needs `platform:` (the publisher's SSH endpoint, pinned host keys,
// the platform credentials), which only an ssh:// source gives: platform.go reads the cluster
// through the platform CLI and platform_spec.go writes that kind. Read through the other,
// read-only sources (tftp://, dir://), such a file's SAST records are declared as the
// cluster's tokens, which is what plan and drift need to check it (R16, R19); Result.Tokenless
// says the file looks tokenless and the output points at ssh://. Whether a file is tokenless
// is decided by cucm/tokenless.Recognize, not here.
package adopt

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/cucm/platform"
	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/spec"
)

// DefaultPasswordEnv is the variable import reads the CTL Provider password from, and names in
// the spec as {env: ...}, when Options.PasswordEnv is empty.
const DefaultPasswordEnv = "CTLOPS_PASSWORD"

// Options say where to read the cluster from and how to reach it.
type Options struct {
	// Sources are provider URLs, one per node to read: tftp://host[:port], dir://PATH,
	// https://host[:port] or host[:port] (the CTL Provider protocol).
	Sources []string
	// Out is the directory the spec and certificates are written into.
	Out string
	// Force allows a directory that already holds a spec and overwriting existing files.
	Force bool
	// Name is the cluster's name in the spec; "" takes the inventory's cluster name, else the
	// host name of the file's signer record.
	Name string
	// Username, PasswordEnv, CAFile and Pins are for CTL Provider sources (R7, R25). The
	// password is read from the environment variable PasswordEnv and the spec names only the
	// variable. CAFile is copied into Out; Pins are SHA-256 fingerprints of the servers'
	// certificates.
	Username    string
	PasswordEnv string
	CAFile      string
	Pins        []string
	// ssh:// sources: a tokenless cluster read through its publisher's platform CLI
	// (platform.go). HostKeys are SHA-256 fingerprints the admin confirmed, KnownHosts a
	// known_hosts file; without either, import stops after showing the keys it saw
	// (*HostKeyPending), having sent nothing. The platform password comes from PasswordFile,
	// else the variable PasswordEnv, else AskPassword (a prompt; nil off a terminal).
	HostKeys     []string
	KnownHosts   string
	PasswordFile string
	AskPassword  func(prompt string) (string, error)
	// NodeSSH and NodeTFTP are NAME=HOST:PORT: where a node is reached when not at the IP
	// `show network cluster` lists (ports 22 and 69).
	NodeSSH, NodeTFTP []string
	// LegacyAlgorithms offers the old SSH algorithms some older UCOS releases need, to this
	// cluster only, and writes legacyAlgorithms: true into the spec.
	LegacyAlgorithms bool
	// Platform sets the CLI sessions' timings (tests); nil: the defaults.
	Platform *platform.Config
	// Timeout bounds each request (provider.Options semantics).
	Timeout time.Duration
	// Now is the clock for expiry notes; time.Now when zero.
	Now time.Time
}

// Result says what was imported and written. Strings in it came from the cluster: print them
// through termsafe.
type Result struct {
	Cluster   string
	Mode      spec.Mode
	Sources   []string
	Records   int
	Tokens    []Token
	Servers   []string // expected servers written from the inventory; nil for read-only sources
	Files     []string // written, relative to Out, the spec last
	Tokenless bool     // the file looks like a CUCM tokenless CTL (see the package comment)
	Notes     []string
	// SpecWarnings are what loading the written spec warned about (expired certificates).
	SpecWarnings []string
	// Tokenless clusters (ssh:// source): the release, the nodes declared and the host keys
	// written as confirmed.
	Signing  spec.Signing
	Release  string
	Nodes    []PlatformNode
	HostKeys []string
}

// PlatformNode is one node of a tokenless cluster as the spec declares it.
type PlatformNode struct {
	Name      string
	Publisher bool
	SSH       string
	TFTP      string // "" without the TFTP role
	Roles     []string
	HostKey   string
}

// Token is one SAST record declared as a token.
type Token struct {
	Name     string
	File     string // relative to Out
	Subject  string
	NotAfter time.Time
}

// source is one parsed --source.
type source struct {
	raw  string // as given, for messages
	open string // what provider.Open takes
	kind spec.ProviderKind
	host string
	port int
	dir  string
	ssh  bool   // ssh://: the publisher's platform CLI (platform.go)
	user string // ssh:// only
}

func parseSource(s string) (source, error) {
	src := source{raw: s}
	switch {
	case strings.HasPrefix(s, "ssh://"):
		return parsePlatformSource(s)
	case strings.HasPrefix(s, "tftp://"):
		hp := strings.TrimSuffix(strings.TrimPrefix(s, "tftp://"), "/")
		host, port, err := splitHostPort(hp, spec.DefaultTFTPPort)
		if err != nil {
			return src, fmt.Errorf("source %s: %w", s, err)
		}
		src.kind, src.host, src.port = spec.KindTFTP, host, port
		src.open = "tftp://" + joinHostPort(host, port)
	case strings.HasPrefix(s, "dir://"):
		d := strings.TrimPrefix(s, "dir://")
		if d == "" {
			return src, fmt.Errorf("source %s: dir:// needs a directory", s)
		}
		src.kind, src.dir, src.open = spec.KindDir, d, s
	case strings.Contains(s, "://") && !strings.HasPrefix(s, "https://"):
		return src, fmt.Errorf("source %s: want tftp://host[:port], dir://PATH, https://host[:port], host[:port] or ssh://user@host[:port]", s)
	default:
		hp := strings.TrimSuffix(strings.TrimPrefix(s, "https://"), "/")
		host, port, err := splitHostPort(hp, spec.DefaultProviderPort)
		if err != nil {
			return src, fmt.Errorf("source %s: %w", s, err)
		}
		src.kind, src.host, src.port = spec.KindCTLProvider, host, port
		src.open = joinHostPort(host, port)
	}
	return src, nil
}

// read is what the sources answered.
type read struct {
	inventory *provider.Inventory
	invFrom   string
	data      []byte // the CTL file chosen
	dataFrom  string
	file      *ctl.File
	notes     []string
}

// readAll asks every source for its inventory (when it has one) and its CTL, through the
// read-only readers: import never writes to a cluster.
func readAll(ctx context.Context, srcs []source, po provider.Options) (*read, error) {
	r := &read{}
	digests := map[string][]string{}
	var order []string
	for _, s := range srcs {
		rd, err := provider.Open(s.open, po)
		if err != nil {
			return nil, err
		}
		if r.inventory == nil {
			inv, err := rd.Cluster(ctx)
			switch {
			case err == nil:
				r.inventory, r.invFrom = inv, rd.Name()
			case !errors.Is(err, errors.ErrUnsupported):
				return nil, err
			}
		}
		data, etag, err := rd.CTL(ctx)
		if errors.Is(err, provider.ErrNoCTL) {
			r.notes = append(r.notes, fmt.Sprintf("%s holds no CTL file", rd.Name()))
			continue
		}
		if err != nil {
			return nil, err
		}
		if _, seen := digests[etag]; !seen {
			order = append(order, etag)
		}
		digests[etag] = append(digests[etag], rd.Name())
		if r.data == nil {
			r.data, r.dataFrom = data, rd.Name()
		}
	}
	if r.data == nil {
		return nil, errors.New("no source holds a CTL file: there is nothing to adopt yet (write the spec by hand, naming the tokens, and let `ctlops apply` create the first CTL)")
	}
	if len(order) > 1 {
		var groups []string
		for _, d := range order {
			groups = append(groups, fmt.Sprintf("%s (sha256 %s…)", strings.Join(digests[d], ", "), d[:12]))
		}
		r.notes = append(r.notes, "the sources hold different files: "+strings.Join(groups, "; ")+
			"; the spec is made from the first, and plan will show the others as differing")
	}
	f, err := ctl.Parse(r.data)
	if err == nil {
		err = f.Verify()
	}
	if err != nil {
		// A file that fails its own check is possibly tampered with: adopting it would declare
		// whatever it names as trusted (R19).
		return nil, fmt.Errorf("the CTL from %s fails its own check: %v; investigate before adopting it", r.dataFrom, err)
	}
	r.file = f
	return r, nil
}

// providerOptions are the options to read the sources: credentials and trust for CTL
// Providers, none for read-only sources.
func providerOptions(o Options, srcs []source) (provider.Options, error) {
	po := provider.Options{Timeout: o.Timeout}
	for _, s := range srcs {
		if s.kind != spec.KindCTLProvider {
			continue
		}
		if o.CAFile == "" && len(o.Pins) == 0 {
			return po, fmt.Errorf("source %s is a CTL Provider: give --ca FILE or --pin SHA256 so that its certificate is checked (they are written into the spec too)", s.raw)
		}
		if o.Username == "" {
			return po, fmt.Errorf("source %s is a CTL Provider: give --username (the cluster's admin user, R25)", s.raw)
		}
		pw, ok := lookupEnv(o.PasswordEnv)
		if !ok || pw == "" {
			return po, fmt.Errorf("source %s is a CTL Provider: set %s to the admin password (the spec names the variable as {env: %s}, never the password)", s.raw, o.PasswordEnv, o.PasswordEnv)
		}
		po.Username, po.Password = o.Username, pw
		po.CAFile, po.Pins = o.CAFile, o.Pins
		break
	}
	return po, nil
}
