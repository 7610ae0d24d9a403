package plan

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/spec"
)

// Build plans one cluster: the desired CTL computed from the declared tokens and the live
// inventory, compared record by record with the file the servers hold. now is the clock for
// expiry warnings.
func Build(c *spec.Cluster, l *Live, now time.Time) *Cluster {
	p := &Cluster{
		Name:      c.Name,
		Suspended: c.Suspend,
		Actions:   []Action{},
		Unchanged: []Action{},
		Targets:   []TargetState{},
		Refusals:  []Problem{},
		Warnings:  []Problem{},
		Notes:     []string{},
		After:     []string{},
		Signers:   []SignerOption{},
	}
	if len(l.Errors) > 0 {
		p.Error = strings.Join(l.Errors, "; ")
		return p
	}
	b := &builder{spec: c, live: l, now: now, p: p}
	b.inventory()
	b.liveFiles()
	desired := b.desired()
	b.diff(desired)
	b.mode()
	b.signers(desired)
	b.rules(desired)
	b.finish()
	return p
}

type builder struct {
	spec *spec.Cluster
	live *Live
	now  time.Time
	p    *Cluster

	baseline   *ctl.File // the file most servers hold, parsed; nil when none
	baseDigest string
	meta       []recordMeta // per desired record
}

// recordMeta says where a desired record comes from.
type recordMeta struct {
	source    string
	alternate bool
}

func (b *builder) refuse(rule, format string, args ...any) {
	b.p.Refusals = append(b.p.Refusals, Problem{Rule: rule, Message: fmt.Sprintf(format, args...)})
}

func (b *builder) warn(rule, format string, args ...any) {
	b.p.Warnings = append(b.p.Warnings, Problem{Rule: rule, Message: fmt.Sprintf(format, args...)})
}

func (b *builder) inventory() {
	inv := b.live.Inventory
	if inv == nil {
		b.p.Notes = append(b.p.Notes, "No CTL Provider inventory (read-only sources): server records are taken from the live file as they are; only tokens, signatures and agreement between servers are checked.")
		return
	}
	st := &InventoryState{From: b.live.InventoryFrom, Version: inv.Version, Mode: string(inv.Mode), Location: inv.FileLocation}
	for _, s := range inv.Servers {
		st.Servers = append(st.Servers, s.Name)
		if s.Error != "" {
			b.refuse("R26", "server %s is not reachable from the cluster (%s): every server must be up before the CTL is updated", s.Name, s.Error)
		}
	}
	b.p.Inventory = st
	if b.spec.ExpectServers != nil {
		b.expectServers(inv)
	}
}

// expectServers turns an inventory that differs from the declared one into refusals: a server
// that appears or vanishes must be acknowledged in Git first (R14, R22).
func (b *builder) expectServers(inv *provider.Inventory) {
	seen := map[string]bool{}
	for _, e := range b.spec.ExpectServers {
		s := findServer(inv, e.Host)
		if s == nil {
			b.p.Refusals = append(b.p.Refusals, Problem{Rule: "R14", Pos: e.Pos.String(),
				Message: fmt.Sprintf("expected server %s is missing from the cluster's inventory: its record would be removed; update expectServers if it was decommissioned", e.Host)})
			continue
		}
		seen[s.Name] = true
		if e.IP != "" && s.IPv4.String() != e.IP {
			b.p.Refusals = append(b.p.Refusals, Problem{Rule: "R22", Pos: e.Pos.String(),
				Message: fmt.Sprintf("server %s reports IP %s, expectServers says %s", e.Host, s.IPv4, e.IP)})
		}
		if len(e.Roles) > 0 {
			var have []string
			for _, r := range s.Roles {
				have = append(have, string(r))
			}
			want := slices.Clone(e.Roles)
			sort.Strings(have)
			sort.Strings(want)
			if !slices.Equal(have, want) {
				b.p.Refusals = append(b.p.Refusals, Problem{Rule: "R14", Pos: e.Pos.String(),
					Message: fmt.Sprintf("server %s runs %s, expectServers says %s", e.Host, strings.Join(have, "+"), strings.Join(want, "+"))})
			}
		}
	}
	for _, s := range inv.Servers {
		if !seen[s.Name] {
			b.refuse("R14", "server %s is in the cluster's inventory but not in expectServers: add it to the spec to accept it", s.Name)
		}
	}
}

func findServer(inv *provider.Inventory, host string) *provider.Server {
	for i := range inv.Servers {
		s := &inv.Servers[i]
		if strings.EqualFold(s.Name, host) || strings.EqualFold(s.DNSName, host) || s.IPv4.String() == host ||
			strings.EqualFold(ctl.ShortHost(s.DNSName), ctl.ShortHost(host)) {
			return s
		}
	}
	return nil
}

// liveFiles parses every server's copy, picks the file most of them hold as the baseline and
// flags copies that fail, differ, or are signed by a key nobody declared (R19).
func (b *builder) liveFiles() {
	type group struct {
		digest   string
		file     *ctl.File
		count    int
		declared bool // signed by a declared token
	}
	var groups []*group
	parsed := make([]*ctl.File, len(b.live.Targets))
	for i, t := range b.live.Targets {
		ts := TargetState{Server: t.Server, Address: t.Address, Alternate: t.Alternate}
		if t.Data == nil {
			ts.Status = "missing"
			b.p.Targets = append(b.p.Targets, ts)
			continue
		}
		ts.Digest = provider.ETag(t.Data)
		f, err := ctl.Parse(t.Data)
		if err == nil {
			err = f.Verify()
			ts.Signer = f.Header.SignerName
		}
		if err != nil {
			ts.Status, ts.Note = "invalid", err.Error()
			b.refuse("R19", "server %s holds a CTL that fails its own check (%v): possible tampering; investigate before replacing it", t.Server, err)
			b.p.Targets = append(b.p.Targets, ts)
			continue
		}
		parsed[i] = f
		b.p.Targets = append(b.p.Targets, ts)
		if t.Alternate {
			continue // alternates follow the cluster; they never define its baseline
		}
		var g *group
		for _, x := range groups {
			if x.digest == ts.Digest {
				g = x
			}
		}
		if g == nil {
			g = &group{digest: ts.Digest, file: f, declared: b.signedByDeclared(f)}
			groups = append(groups, g)
		}
		g.count++
	}
	if len(groups) == 0 {
		// Alternates alone do not make a baseline, but their files still count as installed.
		for i, f := range parsed {
			if f != nil {
				b.baseline, b.baseDigest = f, b.p.Targets[i].Digest
				break
			}
		}
	} else {
		// The cluster's file is the one signed by a declared token that most servers hold;
		// a file nobody declared never wins a tie against one the spec knows.
		sort.SliceStable(groups, func(i, j int) bool {
			if groups[i].declared != groups[j].declared {
				return groups[i].declared
			}
			return groups[i].count > groups[j].count
		})
		b.baseline, b.baseDigest = groups[0].file, groups[0].digest
	}
	if b.baseline == nil {
		b.p.Live = &FileState{}
		return
	}
	b.p.Live = &FileState{
		Digest:    b.baseDigest,
		Signer:    b.baseline.Header.SignerName,
		Records:   len(b.baseline.Records),
		Timestamp: b.baseline.Header.Timestamp.UTC().Format(time.RFC3339),
	}
	// Every other valid copy must be signed by a key that the cluster's file or the spec
	// knows; anything else is a file nobody here made (possible tampering).
	for i, f := range parsed {
		ts := &b.p.Targets[i]
		if f == nil {
			continue
		}
		if ts.Digest == b.baseDigest {
			ts.Status = "current"
			continue
		}
		ts.Status = "differs"
		if !b.knownSigner(f) {
			ts.Note = "signed by a key that is neither a SAST record of the cluster's CTL nor a declared token"
			b.refuse("R19", "server %s holds a CTL signed by %q serial %s, which is neither a SAST record of the cluster's CTL nor a declared token: possible tampering", ts.Server, f.Header.SignerName, ctl.SerialHex(f.Header.SignerSerial))
			continue
		}
		ts.Note = fmt.Sprintf("holds another file (signed %s by %s)", f.Header.Timestamp.UTC().Format(time.RFC3339), f.Header.SignerName)
	}
}

func (b *builder) signedByDeclared(f *ctl.File) bool {
	i := f.SignerRecord()
	if i < 0 {
		return false
	}
	fp := ctl.Fingerprint(f.Records[i].Certificate)
	for _, t := range b.spec.Tokens {
		if t.Cert != nil && ctl.Fingerprint(t.Cert.Raw) == fp {
			return true
		}
	}
	return false
}

func (b *builder) knownSigner(f *ctl.File) bool {
	i := f.SignerRecord()
	if i < 0 {
		return false
	}
	signer := &f.Records[i]
	for j := range b.baseline.Records {
		r := &b.baseline.Records[j]
		if r.Role == ctl.RoleSAST && sameCert(r, signer) {
			return true
		}
	}
	return b.signedByDeclared(f)
}

func sameCert(a, b *ctl.Record) bool {
	if len(a.Certificate) > 0 && len(b.Certificate) > 0 {
		return string(a.Certificate) == string(b.Certificate)
	}
	return ctl.SameSerial(a.SerialNumber, b.SerialNumber) && a.SubjectName == b.SubjectName
}

// desired computes the file apply would sign (R14, R15, R12): SAST records from the declared
// tokens, server records from the inventory, alternate TFTP records from those servers.
func (b *builder) desired() *ctl.File {
	mixed := b.spec.Mode == spec.ModeMixed
	var recs []ctl.Record
	add := func(r ctl.Record, m recordMeta) {
		recs = append(recs, r)
		b.meta = append(b.meta, m)
	}
	var tokens []ctl.Record
	var tokenMeta []recordMeta
	for _, t := range b.spec.Tokens {
		if t.Cert == nil {
			continue
		}
		r, err := ctl.NewRecord(t.Cert, ctl.RoleSAST, "", netip.Addr{})
		if err != nil {
			b.p.Refusals = append(b.p.Refusals, Problem{Rule: "R16", Pos: t.Pos.String(), Message: fmt.Sprintf("token %s: %v", t.Name, err)})
			continue
		}
		tokens = append(tokens, r)
		tokenMeta = append(tokenMeta, recordMeta{source: "token " + t.Name})
	}
	addTokens := func(done []bool) {
		for i, r := range tokens {
			if done == nil || !done[i] {
				add(r, tokenMeta[i])
			}
		}
	}
	if inv := b.live.Inventory; inv != nil {
		addTokens(nil)
		for i := range inv.Servers {
			s := &inv.Servers[i]
			if s.Error != "" {
				continue
			}
			host := s.DNSName
			if host == "" {
				host = s.Name
			}
			if role, ok := serverRole(s); ok {
				r, err := b.serverRecord(s, role, host, provider.RoleCCM, mixed)
				if err != nil {
					b.refuse("R14", "server %s: %v", s.Name, err)
				} else {
					add(r, recordMeta{source: "server " + s.Name})
				}
			}
			if s.HasRole(provider.RoleCAPF) {
				r, err := b.serverRecord(s, ctl.RoleCAPF, host, provider.RoleCAPF, mixed)
				if err != nil {
					b.refuse("R14", "server %s: %v", s.Name, err)
				} else {
					add(r, recordMeta{source: "CAPF on " + s.Name})
				}
			}
		}
	} else if b.baseline != nil {
		// Read-only sources: the live file is taken as it is, in its order, with its SAST
		// records where they are declared tokens. A token is declared by its certificate
		// alone, so nothing says which host name and address its record carries; CUCM's
		// tokenless CTL writes the publisher's on its SAST records (§3), and a tftp:// drift
		// check must not report as a change what it could never make.
		done := make([]bool, len(tokens))
		for _, r := range b.baseline.Records {
			if r.Role != ctl.RoleSAST {
				add(r, recordMeta{source: "live file"})
				continue
			}
			for i := range tokens {
				if !done[i] && bytes.Equal(tokens[i].Certificate, r.Certificate) {
					done[i] = true
					add(r, tokenMeta[i])
					break
				}
			}
		}
		addTokens(done)
	} else {
		addTokens(nil)
	}
	for _, a := range b.live.Alternates {
		r, ok := b.alternateRecord(a, mixed)
		if ok {
			add(r, recordMeta{source: "alternate TFTP " + a.Decl.Host, alternate: true})
		}
	}
	return ctl.New(provider.FileName, recs)
}

func serverRole(s *provider.Server) (ctl.Role, bool) {
	ccm, tftp := s.HasRole(provider.RoleCCM), s.HasRole(provider.RoleTFTP)
	switch {
	case ccm && tftp:
		return ctl.RoleCCMTFTP, true
	case ccm:
		return ctl.RoleCCM, true
	case tftp:
		return ctl.RoleTFTP, true
	}
	return 0, false
}

// serverRecord is a server's record with its certificate in mixed mode, a placeholder in
// non-secure mode (R12).
func (b *builder) serverRecord(s *provider.Server, role ctl.Role, host string, certRole provider.Role, mixed bool) (ctl.Record, error) {
	if !mixed {
		return ctl.PlaceholderRecord(role, host, s.IPv4), nil
	}
	c := s.Certificate(certRole)
	if c == nil && certRole == provider.RoleCCM {
		c = s.Certificate(provider.RoleTFTP)
	}
	if c == nil || c.X509 == nil {
		return ctl.Record{}, fmt.Errorf("reports no %s certificate", certRole)
	}
	b.expiry(c.X509, fmt.Sprintf("%s certificate of server %s", certRole, s.Name))
	return ctl.NewRecord(c.X509, role, host, s.IPv4)
}

func (b *builder) alternateRecord(a Alternate, mixed bool) (ctl.Record, bool) {
	d := a.Decl
	if a.Err != "" || a.Server == nil {
		b.p.Refusals = append(b.p.Refusals, Problem{Rule: "R26", Pos: d.Pos.String(),
			Message: fmt.Sprintf("alternate TFTP server %s cannot be read: %s", d.Addr(), a.Err)})
		return ctl.Record{}, false
	}
	if inv := a.Inventory; inv != nil && d.Cluster != "" {
		switch {
		case string(inv.Mode) == string(b.spec.Mode):
		case a.DeclaredMode == string(b.spec.Mode):
			// Both clusters are declared in the same mode (the spec checks that); the other
			// cluster's own plan sets its mode.
			b.warn("R17", "alternate TFTP server %s is in cluster %s, which still runs %s; its own plan sets %s: apply both clusters", d.Host, d.Cluster, inv.Mode, b.spec.Mode)
		default:
			b.p.Refusals = append(b.p.Refusals, Problem{Rule: "R17", Pos: d.Pos.String(),
				Message: fmt.Sprintf("alternate TFTP server %s is in cluster %s, whose security mode is %s; this cluster is declared %s: both must run the same mode", d.Host, d.Cluster, inv.Mode, b.spec.Mode)})
		}
		if own := b.live.Inventory; own != nil && inv.Version != own.Version {
			b.p.Refusals = append(b.p.Refusals, Problem{Rule: "R17", Pos: d.Pos.String(),
				Message: fmt.Sprintf("alternate TFTP server %s runs CallManager %s, this cluster %s: both must run the same version", d.Host, inv.Version, own.Version)})
		}
		if own := b.live.Inventory; own != nil && inv.FileLocation != own.FileLocation {
			b.warn("R17", "alternate TFTP server %s uses FileLocation %s, this cluster %s", d.Host, inv.FileLocation, own.FileLocation)
		}
	}
	host := a.Server.DNSName
	if host == "" {
		host = d.Host
	}
	if !mixed {
		return ctl.PlaceholderRecord(ctl.RoleTFTP, host, a.Server.IPv4), true
	}
	c := a.Server.Certificate(provider.RoleCCM)
	if c == nil {
		c = a.Server.Certificate(provider.RoleTFTP)
	}
	if c == nil || c.X509 == nil {
		b.p.Refusals = append(b.p.Refusals, Problem{Rule: "R15", Pos: d.Pos.String(),
			Message: fmt.Sprintf("alternate TFTP server %s reports no TFTP certificate", d.Host)})
		return ctl.Record{}, false
	}
	b.expiry(c.X509, "certificate of alternate TFTP server "+d.Host)
	r, err := ctl.NewRecord(c.X509, ctl.RoleTFTP, host, a.Server.IPv4)
	if err != nil {
		b.p.Refusals = append(b.p.Refusals, Problem{Rule: "R15", Pos: d.Pos.String(), Message: fmt.Sprintf("alternate TFTP server %s: %v", d.Host, err)})
		return ctl.Record{}, false
	}
	return r, true
}

func (b *builder) expiry(c *x509.Certificate, what string) {
	switch left := c.NotAfter.Sub(b.now); {
	case left <= 0:
		b.warn("", "%s expired on %s", what, c.NotAfter.UTC().Format("2006-01-02"))
	case left < ExpiryWarning:
		b.warn("", "%s expires on %s, in %d days", what, c.NotAfter.UTC().Format("2006-01-02"), int(left.Hours()/24))
	}
}

func (b *builder) mode() {
	m := ModeChange{To: string(b.spec.Mode)}
	if inv := b.live.Inventory; inv != nil {
		m.From = string(inv.Mode)
		m.Changed = m.From != m.To
	}
	b.p.Mode = m
	if !m.Changed {
		return
	}
	if m.To == string(spec.ModeMixed) {
		b.p.Notes = append(b.p.Notes, "Mixed mode disables auto-registration (R11): phones not yet in the database will no longer register by themselves.")
	} else {
		b.p.Notes = append(b.p.Notes, "Non-secure mode allows auto-registration again (R11); the CTL stays on the servers without certificates and phones ask for unsigned configuration files (R12).")
	}
}

// signers lists the declared tokens that may sign the new file: already trusted by the
// installed file (R19), or any declared token for a first CTL.
func (b *builder) signers(desired *ctl.File) {
	for _, t := range b.spec.Tokens {
		if t.Cert == nil {
			continue
		}
		fp := ctl.Fingerprint(t.Cert.Raw)
		if b.baseline != nil && !hasSAST(b.baseline, fp) {
			continue
		}
		b.p.Signers = append(b.p.Signers, SignerOption{Token: t.Name, Subject: ctl.NameString(t.Cert.Subject),
			Serial: ctl.SerialHex(t.Cert.SerialNumber.Bytes()), CertificateSHA256: fp})
	}
	if len(b.p.Signers) == 0 && len(b.spec.Tokens) > 0 && b.baseline != nil {
		var trusted []string
		for _, r := range b.baseline.Records {
			if r.Role == ctl.RoleSAST {
				trusted = append(trusted, r.SubjectName)
			}
		}
		b.refuse("R19", "no declared token is a SAST record of the installed CTL, so no signer could produce a file that phones accept; keep at least one of: %s", strings.Join(trusted, ", "))
	}
	if b.baseline != nil {
		if i := b.baseline.SignerRecord(); i >= 0 && !hasSAST(desired, ctl.Fingerprint(b.baseline.Records[i].Certificate)) {
			b.warn("R19", "the installed file was signed by %q, which this plan removes: apply must sign with another trusted token", b.baseline.Header.SignerName)
		}
	}
}

func hasSAST(f *ctl.File, fingerprint string) bool {
	for i := range f.Records {
		r := &f.Records[i]
		if r.Role == ctl.RoleSAST && len(r.Certificate) > 0 && ctl.Fingerprint(r.Certificate) == fingerprint {
			return true
		}
	}
	return false
}

// rules applies the refusals and warnings that need the whole desired file.
func (b *builder) rules(desired *ctl.File) {
	if n := len(b.spec.Tokens); n < 2 {
		b.p.Refusals = append(b.p.Refusals, Problem{Rule: "R16", Pos: b.spec.Pos.String(),
			Message: fmt.Sprintf("the CTL must always hold at least two security tokens; %d declared", n)})
	} else if n == 2 && b.baseline != nil && countRole(b.baseline, ctl.RoleSAST) > 2 {
		b.warn("R16", "only two tokens are left: R16 allows no fewer, so add a token before retiring another")
	}
	for _, t := range b.spec.Tokens {
		if t.Cert != nil {
			b.expiry(t.Cert, "certificate of token "+t.Name)
		}
	}
	if data, err := desired.Marshal(); err != nil {
		b.refuse("", "the desired file cannot be encoded: %v", err)
	} else {
		// The signature adds 3 bytes and at most 512 more (RSA-4096).
		if size := len(data) + 3 + 512; size > MaxCTLSize {
			b.refuse("", "the desired file would be about %d bytes; phones fail to load a CTL over %d bytes", size, MaxCTLSize)
		}
		b.p.Desired = &DesiredFile{Records: len(desired.Records), Size: len(data), Data: data}
	}
	if b.baseline != nil {
		if grow := len(desired.Records) - len(b.baseline.Records); grow > 2 {
			b.warn("", "the file grows from %d to %d records", len(b.baseline.Records), len(desired.Records))
		}
		if b.spec.Mode == spec.ModeNonSecure {
			for _, r := range b.baseline.Records {
				if r.Role != ctl.RoleSAST && len(r.Certificate) > 0 {
					b.p.Notes = append(b.p.Notes, "The cluster is declared non-secure but its CTL still holds server certificates; non-secure mode keeps the file without them (R12).")
					break
				}
			}
		}
	}
}

func countRole(f *ctl.File, role ctl.Role) int {
	n := 0
	for _, r := range f.Records {
		if r.Role == role {
			n++
		}
	}
	return n
}

// finish sets the summary and the steps after apply (R23).
func (b *builder) finish() {
	s := &b.p.Summary
	for _, a := range b.p.Actions {
		switch a.Symbol {
		case "+":
			s.Add++
		case "~":
			s.Refresh++
		case "-/+":
			s.Replace++
		case "-":
			s.Remove++
		}
	}
	s.Unchanged = len(b.p.Unchanged)
	s.Mode = b.p.Mode.Changed
	recordsChange := len(b.p.Actions) > 0
	// A first CTL in non-secure mode is not created: the default non-secure state has none (R12).
	firstNonSecure := b.baseline == nil && b.spec.Mode == spec.ModeNonSecure
	switch {
	case firstNonSecure:
		recordsChange = false
		b.p.Notes = append(b.p.Notes, "The cluster is declared non-secure and holds no CTL: nothing to create (R12).")
	case !recordsChange:
		// Records stay as they are: servers that do not hold the cluster's file get it as is.
		for _, t := range b.p.Targets {
			if t.Status != "current" {
				s.Sync++
			}
		}
	}
	s.Changes = recordsChange || s.Mode || s.Sync > 0
	if !s.Changes {
		b.p.Desired = nil
		return
	}
	var ccm, tftp []string
	if inv := b.live.Inventory; inv != nil {
		for _, sv := range inv.Servers {
			if sv.HasRole(provider.RoleCCM) {
				ccm = append(ccm, sv.Name)
			}
			if sv.HasRole(provider.RoleTFTP) {
				tftp = append(tftp, sv.Name)
			}
		}
	}
	if len(ccm) > 0 {
		b.p.After = append(b.p.After, "Restart Cisco CallManager on "+strings.Join(ccm, ", ")+" (R23)")
	}
	if len(tftp) > 0 {
		b.p.After = append(b.p.After, "Restart Cisco TFTP on "+strings.Join(tftp, ", ")+" (R23)")
	}
	b.p.After = append(b.p.After, "Reset every device of cluster "+b.spec.Name+", in a maintenance window (R23)")
}
