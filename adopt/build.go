package adopt

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/cucm/tokenless"
	"github.com/ctlops/ctlops/internal/safefile"
	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/spec"
)

// TokenDir is the folder of Out that holds the token certificates.
const TokenDir = "tokens"

// CAFileName is the copy of --ca in Out.
const CAFileName = "ca.pem"

// maxCAFile bounds the --ca file read: a CA bundle is a few KiB.
const maxCAFile = 1 << 20

var (
	envPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	pinPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// outFile is one file to write, path relative to Out.
type outFile struct {
	path string
	data []byte
}

// cluster is the spec of the adopted cluster, before it becomes YAML.
type cluster struct {
	name      string
	mode      spec.Mode
	providers []source
	username  string // "" when every source is read-only
	passEnv   string
	caFile    string // relative to Out, "" when none
	pins      []string
	tokens    []Token
	servers   []expected // nil: not asserted
	comments  []string
	platform  *platformSpec // a tokenless cluster (platform_spec.go); nil for the others
}

type expected struct {
	host, ip string
	roles    []string
}

// build decides the spec and the files from what was read.
func build(o Options, srcs []source, r *read) (*cluster, []outFile, *Result, error) {
	c := &cluster{providers: srcs}
	res := &Result{Records: len(r.file.Records)}
	for _, s := range srcs {
		res.Sources = append(res.Sources, s.open)
	}
	res.Notes = append(res.Notes, r.notes...)
	var files []outFile

	name, err := clusterName(o.Name, r)
	if err != nil {
		return nil, nil, nil, err
	}
	c.name, res.Cluster = name, name

	c.mode = fileMode(r.file)
	if inv := r.inventory; inv != nil {
		switch spec.Mode(inv.Mode) {
		case spec.ModeMixed, spec.ModeNonSecure:
			c.mode = spec.Mode(inv.Mode)
		default:
			return nil, nil, nil, fmt.Errorf("%s reports security mode %q: want mixed or non-secure (R9)", r.invFrom, inv.Mode)
		}
	}
	res.Mode = c.mode

	// Tokens: every SAST record of the file (R15, R16), in file order.
	taken := map[string]bool{}
	for i := range r.file.Records {
		rec := &r.file.Records[i]
		if rec.Role != ctl.RoleSAST {
			continue
		}
		cert, err := rec.X509()
		if err != nil {
			return nil, nil, nil, fmt.Errorf("the CTL from %s: SAST record %d: %v", r.dataFrom, i+1, err)
		}
		base := safeName(cert.Subject.CommonName)
		if base == "" {
			base = safeName(rec.DNSName)
		}
		if base == "" {
			base = fmt.Sprintf("token-%d", len(c.tokens)+1)
		}
		tn := unique(base, taken)
		t := Token{Name: tn, File: TokenDir + "/" + tn + ".pem", Subject: ctl.NameString(cert.Subject), NotAfter: cert.NotAfter}
		c.tokens = append(c.tokens, t)
		files = append(files, outFile{path: t.File, data: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})})
	}
	if len(c.tokens) < 2 {
		return nil, nil, nil, fmt.Errorf("the CTL from %s holds %d SAST record(s); a spec needs at least 2 tokens (R16): declare them by hand", r.dataFrom, len(c.tokens))
	}
	res.Tokens = c.tokens
	// One definition of "tokenless": the cucm/tokenless package's, from the file alone.
	if rec, err := tokenless.Recognize(r.file, o.Now); err == nil && rec.Tokenless {
		res.Tokenless = true
		res.Notes = append(res.Notes, fmt.Sprintf("tokenless CTL signed by %s's %s certificate (CUCM %s)", rec.Publisher, rec.Signer, rec.Releases))
	}

	// CTL Provider sources: credentials by reference and the trust the servers were read with.
	for _, s := range srcs {
		if s.kind != spec.KindCTLProvider {
			continue
		}
		if !envPattern.MatchString(o.PasswordEnv) {
			return nil, nil, nil, fmt.Errorf("--password-env %q: want an environment variable name", o.PasswordEnv)
		}
		c.username, c.passEnv = o.Username, o.PasswordEnv
		if o.CAFile != "" {
			b, err := safefile.Read(o.CAFile, maxCAFile)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("--ca: %w", err)
			}
			if !bytes.Contains(b, []byte("-----BEGIN CERTIFICATE-----")) {
				return nil, nil, nil, fmt.Errorf("--ca %s: not a PEM certificate file", o.CAFile)
			}
			c.caFile = CAFileName
			files = append(files, outFile{path: CAFileName, data: b})
		}
		for _, p := range o.Pins {
			fp := strings.ToLower(strings.ReplaceAll(p, ":", ""))
			if !pinPattern.MatchString(fp) {
				return nil, nil, nil, fmt.Errorf("--pin %q: want the 64 hex digits of a SHA-256", p)
			}
			c.pins = append(c.pins, fp)
		}
		break
	}

	if inv := r.inventory; inv != nil {
		c.servers, res.Notes = expectServers(inv, res.Notes)
		for _, e := range c.servers {
			res.Servers = append(res.Servers, e.host)
		}
		res.Notes = append(res.Notes, notInInventory(r.file, inv)...)
	} else {
		c.comments = append(c.comments,
			"Read-only sources: plan and drift read the cluster as phones do; apply refuses them.")
	}
	if res.Tokenless {
		c.comments = append(c.comments,
			"This CTL looks tokenless (CUCM signs it with its own certificate): its SAST records are",
			"declared as tokens so that plan and drift check it; ctlops holds no key to sign for it.")
	}
	c.comments = append(c.comments, "No signWith: add one (pkcs11: {module, label}) before `ctlops apply` can sign.")
	return c, files, res, nil
}

// clusterName is --name, else the inventory's cluster name, else the host of the file's signer
// record (a tokenless CTL is signed by the publisher), sanitised.
func clusterName(given string, r *read) (string, error) {
	if given != "" {
		if !namePattern.MatchString(given) {
			return "", fmt.Errorf("--name %q: letters, digits, '.', '_' and '-', at most 64", given)
		}
		return given, nil
	}
	if r.inventory != nil {
		if n := safeName(r.inventory.Cluster); n != "" {
			return n, nil
		}
	}
	if i := r.file.SignerRecord(); i >= 0 {
		if n := safeName(r.file.Records[i].DNSName); n != "" {
			return n, nil
		}
	}
	for _, rec := range r.file.Records {
		if rec.Role != ctl.RoleSAST {
			if n := safeName(rec.DNSName); n != "" {
				return n, nil
			}
		}
	}
	return "cluster", nil
}

// fileMode is the mode a file shows without an inventory: server records with certificates
// mean mixed mode; placeholders only mean non-secure (R12).
func fileMode(f *ctl.File) spec.Mode {
	for _, r := range f.Records {
		if r.Role != ctl.RoleSAST && len(r.Certificate) > 0 {
			return spec.ModeMixed
		}
	}
	return spec.ModeNonSecure
}

// expectServers writes the inventory as expectServers, so that a server that appears or
// vanishes later is drift (R14). A name the spec would refuse drops the whole list, with a
// note: a partial list would itself be drift.
func expectServers(inv *provider.Inventory, notes []string) ([]expected, []string) {
	var out []expected
	for _, s := range inv.Servers {
		if !validHost(s.Name) {
			return nil, append(notes, fmt.Sprintf("server name %q is not a host name the spec accepts: expectServers is left out", s.Name))
		}
		e := expected{host: s.Name}
		if s.IPv4.IsValid() && s.IPv4.Is4() {
			e.ip = s.IPv4.String()
		}
		for _, r := range s.Roles {
			switch r {
			case provider.RoleCCM, provider.RoleTFTP, provider.RoleCAPF:
				e.roles = append(e.roles, string(r))
			}
		}
		if s.Error != "" {
			notes = append(notes, fmt.Sprintf("server %s was not reachable from %s (%s): plan refuses to change the CTL until it is (R26)", s.Name, s.Provider, s.Error))
		}
		out = append(out, e)
	}
	return out, notes
}

// notInInventory names the file's server records that no server of the inventory explains:
// alternate TFTP servers added by hand (R15) that plan would otherwise remove.
func notInInventory(f *ctl.File, inv *provider.Inventory) []string {
	var notes []string
	for _, r := range f.Records {
		if r.Role == ctl.RoleSAST {
			continue
		}
		found := false
		for _, s := range inv.Servers {
			if strings.EqualFold(ctl.ShortHost(s.DNSName), r.DNSName) || strings.EqualFold(ctl.ShortHost(s.Name), r.DNSName) ||
				(r.IPAddress.IsValid() && s.IPv4 == r.IPAddress) {
				found = true
				break
			}
		}
		if !found {
			notes = append(notes, fmt.Sprintf("record %s is not a server of the inventory: if it is an alternate TFTP server, declare it under alternateTFTP (R15), or plan will remove it", r.Title()))
		}
	}
	return notes
}

// dirURL is a dir:// source as the spec will read it: absolute, so that the spec works from
// any directory.
func dirURL(d string) string {
	abs, err := filepath.Abs(d)
	if err != nil {
		abs = d
	}
	return "dir://" + filepath.ToSlash(abs)
}
