package plan

import (
	"net/netip"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/cucm"
)

// desired computes the file apply would sign (R14, R15, R12): SAST records from the declared
// tokens, server records from the inventory, alternate TFTP records from those servers.
func (b *builder) desired() *ctl.File {
	mixed := b.spec.Mode == cucm.ModeMixed
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
			b.refuse(Problem{Kind: TokenRecordFails, Rule: "R16", Pos: t.Pos.String(), Token: t.Name, Detail: err.Error()})
			continue
		}
		tokens = append(tokens, r)
		tokenMeta = append(tokenMeta, recordMeta{source: "token " + t.Name, reason: Reason{Kind: ReasonToken, Rule: "R15", Name: t.Name, Fingerprint: ctl.Fingerprint(r.Certificate)}})
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
				if r, ok := b.serverRecord(s, role, host, cucm.RoleCCM, mixed); ok {
					add(r, recordMeta{source: "server " + s.Name, reason: Reason{Kind: ReasonServer, Rule: "R14", Name: s.Name}})
				}
			}
			if s.HasRole(cucm.RoleCAPF) {
				if r, ok := b.serverRecord(s, ctl.RoleCAPF, host, cucm.RoleCAPF, mixed); ok {
					add(r, recordMeta{source: "CAPF on " + s.Name, reason: Reason{Kind: ReasonCAPF, Rule: "R14", Name: s.Name}})
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
				add(r, recordMeta{source: "live file", reason: Reason{Kind: ReasonLiveFile, Rule: "R14"}})
				continue
			}
			for i := range tokens {
				if !done[i] && ctl.SameIdentity(&tokens[i], &r) {
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
		if r, ok := b.alternateRecord(a, mixed); ok {
			add(r, recordMeta{source: "alternate TFTP " + a.Decl.Host, alternate: true,
				reason: Reason{Kind: ReasonAlternate, Rule: "R15", Name: a.Decl.Host}})
		}
	}
	return ctl.New(cucm.FileName, recs)
}

func serverRole(s *cucm.Server) (ctl.Role, bool) {
	ccm, tftp := s.HasRole(cucm.RoleCCM), s.HasRole(cucm.RoleTFTP)
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
// non-secure mode (R12); a server that cannot have one is refused (R14).
func (b *builder) serverRecord(s *cucm.Server, role ctl.Role, host string, certRole cucm.Role, mixed bool) (ctl.Record, bool) {
	if !mixed {
		return ctl.PlaceholderRecord(role, host, s.IPv4), true
	}
	c := s.Certificate(certRole)
	if c == nil && certRole == cucm.RoleCCM {
		c = s.Certificate(cucm.RoleTFTP)
	}
	if c == nil || c.X509 == nil {
		b.refuse(Problem{Kind: ServerNoCertificate, Rule: "R14", Server: s.Name, Have: string(certRole)})
		return ctl.Record{}, false
	}
	b.expiry(c.X509, &CertOf{Server: s.Name, Role: certRole})
	r, err := ctl.NewRecord(c.X509, role, host, s.IPv4)
	if err != nil {
		b.refuse(Problem{Kind: ServerRecordFails, Rule: "R14", Server: s.Name, Detail: err.Error()})
		return ctl.Record{}, false
	}
	return r, true
}

func (b *builder) alternateRecord(a Alternate, mixed bool) (ctl.Record, bool) {
	d := a.Decl
	pos := d.Pos.String()
	if a.Err != "" || a.Server == nil {
		b.refuse(Problem{Kind: AlternateUnreadable, Rule: "R26", Pos: pos, Server: d.Addr(), Detail: a.Err})
		return ctl.Record{}, false
	}
	if inv := a.Inventory; inv != nil && d.Cluster != "" {
		switch {
		case inv.Mode == b.spec.Mode:
		case a.DeclaredMode == b.spec.Mode:
			// Both clusters are declared in the same mode (the spec checks that); the other
			// cluster's own plan sets its mode.
			b.warn(Problem{Kind: AlternateModePending, Rule: "R17", Server: d.Host, Cluster: d.Cluster, Have: string(inv.Mode), Want: string(b.spec.Mode)})
		default:
			b.refuse(Problem{Kind: AlternateModeDiffers, Rule: "R17", Pos: pos, Server: d.Host, Cluster: d.Cluster, Have: string(inv.Mode), Want: string(b.spec.Mode)})
		}
		if own := b.live.Inventory; own != nil && inv.Version != own.Version {
			b.refuse(Problem{Kind: AlternateVersion, Rule: "R17", Pos: pos, Server: d.Host, Have: inv.Version, Want: own.Version})
		}
		if own := b.live.Inventory; own != nil && inv.FileLocation != own.FileLocation {
			b.warn(Problem{Kind: AlternateLocation, Rule: "R17", Server: d.Host, Have: inv.FileLocation, Want: own.FileLocation})
		}
	}
	host := a.Server.DNSName
	if host == "" {
		host = d.Host
	}
	if !mixed {
		return ctl.PlaceholderRecord(ctl.RoleTFTP, host, a.Server.IPv4), true
	}
	c := a.Server.Certificate(cucm.RoleCCM)
	if c == nil {
		c = a.Server.Certificate(cucm.RoleTFTP)
	}
	if c == nil || c.X509 == nil {
		b.refuse(Problem{Kind: AlternateNoCertificate, Rule: "R15", Pos: pos, Server: d.Host})
		return ctl.Record{}, false
	}
	b.expiry(c.X509, &CertOf{Alternate: d.Host})
	r, err := ctl.NewRecord(c.X509, ctl.RoleTFTP, host, a.Server.IPv4)
	if err != nil {
		b.refuse(Problem{Kind: AlternateRecordFails, Rule: "R15", Pos: pos, Server: d.Host, Detail: err.Error()})
		return ctl.Record{}, false
	}
	return r, true
}

// signers lists the declared tokens that may sign the new file: every phone model of the
// cluster would install what they sign (phonerules, phones.go), which for a CTL already
// installed means trusted by it (R19), and any declared token for a first CTL.
func (b *builder) signers(desired *ctl.File) {
	tvs := b.phoneVerdicts()
	anyTrusted := false
	for _, tv := range tvs {
		anyTrusted = anyTrusted || tv.trusted
		if len(tv.refusers) > 0 {
			continue
		}
		t := tv.token
		b.p.Signers = append(b.p.Signers, SignerOption{Token: t.Name, Subject: ctl.NameString(t.Cert.Subject),
			Serial: ctl.SerialHex(t.Cert.SerialNumber.Bytes()), CertificateSHA256: ctl.Fingerprint(t.Cert.Raw)})
	}
	if len(b.p.Signers) == 0 && len(b.spec.Tokens) > 0 && b.baseline != nil && !anyTrusted {
		var trusted []string
		for _, r := range b.baseline.Records {
			if r.Role == ctl.RoleSAST {
				trusted = append(trusted, r.SubjectName)
			}
		}
		b.refuse(Problem{Kind: NoTrustedSigner, Rule: "R19", List: trusted})
	}
	b.phoneProblems(tvs, len(b.p.Signers))
	if b.baseline != nil {
		if i := b.baseline.SignerRecord(); i >= 0 && !desired.HasSAST(&b.baseline.Records[i]) {
			b.warn(Problem{Kind: SignerRemoved, Rule: "R19", Signer: b.baseline.Header.SignerName})
		}
	}
}

// rules applies the refusals and warnings that need the whole desired file.
func (b *builder) rules(desired *ctl.File) {
	if n := len(b.spec.Tokens); n < 2 {
		b.refuse(Problem{Kind: TooFewTokens, Rule: "R16", Pos: b.spec.Pos.String(), N: n})
	} else if n == 2 && b.baseline != nil && countRole(b.baseline, ctl.RoleSAST) > 2 {
		b.warn(Problem{Kind: TwoTokensLeft, Rule: "R16"})
	}
	for _, t := range b.spec.Tokens {
		if t.Cert != nil {
			b.expiry(t.Cert, &CertOf{Token: t.Name})
		}
	}
	if data, err := desired.Marshal(); err != nil {
		b.refuse(Problem{Kind: DesiredUnencodable, Detail: err.Error()})
	} else {
		// The signature adds 3 bytes and at most 512 more (RSA-4096).
		if size := len(data) + 3 + 512; size > MaxCTLSize {
			b.refuse(Problem{Kind: DesiredTooLarge, N: size})
		}
		b.p.Desired = &DesiredFile{Records: len(desired.Records), Size: len(data), Data: data}
	}
	if b.baseline != nil {
		if grow := len(desired.Records) - len(b.baseline.Records); grow > 2 {
			b.warn(Problem{Kind: FileGrows, N: len(b.baseline.Records), M: len(desired.Records)})
		}
		if b.spec.Mode == cucm.ModeNonSecure {
			for _, r := range b.baseline.Records {
				if r.Role != ctl.RoleSAST && len(r.Certificate) > 0 {
					b.p.Notes = append(b.p.Notes, NoteNonSecureCerts)
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
