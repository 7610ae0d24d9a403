package plan

import (
	"net/netip"
	"sort"
	"time"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/cucm"
	"github.com/ctlops/ctlops/spec"
)

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
	// A cluster's servers nearly always hold the same bytes: each distinct file is parsed and
	// verified once, and its copies share the result.
	type checked struct {
		file *ctl.File // nil when it does not parse
		err  error
	}
	seen := map[string]checked{}
	for i, t := range b.live.Targets {
		ts := TargetState{Server: t.Server, Address: t.Address, Alternate: t.Alternate, Lock: t.Lock}
		if t.Data == nil {
			ts.Status = Missing
			b.p.Targets = append(b.p.Targets, ts)
			continue
		}
		ts.Digest = cucm.Digest(t.Data)
		c, ok := seen[ts.Digest]
		if !ok {
			if c.file, c.err = ctl.Parse(t.Data); c.err != nil {
				c.file = nil
			} else {
				c.err = c.file.Verify()
			}
			seen[ts.Digest] = c
		}
		f, err := c.file, c.err
		if f != nil {
			ts.Signer = f.Header.SignerName
		}
		if err != nil {
			ts.Status, ts.Invalid = Invalid, err.Error()
			b.refuse(Problem{Kind: FileFailsCheck, Rule: "R19", Server: t.Server, Detail: err.Error()})
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
	// The cluster's file itself must be signed by a key the spec knows: a declared token, or
	// one it retired. A whole cluster signed by anything else is the same possible tampering
	// one server's file would be, not a warning. (Tokenless clusters are signed by CUCM's own
	// keys and planned by their own rules.)
	if b.spec.Signing != spec.SigningTokenless && !b.signedBy(b.baseline, b.tokenRecords()) && !b.signedBy(b.baseline, records(b.spec.RetiredTokens)) {
		b.refuse(Problem{Kind: ClusterUnknownSigner, Rule: "R19", Signer: b.baseline.Header.SignerName, Serial: ctl.SerialHex(b.baseline.Header.SignerSerial)})
	}
	// Every other valid copy must be signed by a key that the cluster's file or the spec
	// knows; anything else is a file nobody here made (possible tampering).
	for i, f := range parsed {
		ts := &b.p.Targets[i]
		if f == nil {
			continue
		}
		if ts.Digest == b.baseDigest {
			ts.Status = Current
			continue
		}
		ts.Status = Differs
		ts.SignedAt = f.Header.Timestamp.UTC().Format(time.RFC3339)
		if !b.knownSigner(f) {
			ts.UnknownSigner = true
			b.refuse(Problem{Kind: FileUnknownSigner, Rule: "R19", Server: ts.Server, Signer: f.Header.SignerName, Serial: ctl.SerialHex(f.Header.SignerSerial)})
		}
	}
}

// tokenRecords are the SAST records of the declared tokens, for the trust checks: whether a
// token signed a file, or is trusted by one, is decided by ctl's R19 definitions only.
func (b *builder) tokenRecords() []ctl.Record { return records(b.spec.Tokens) }

// records are the SAST records of tokens.
func records(tokens []spec.Token) []ctl.Record {
	var out []ctl.Record
	for _, t := range tokens {
		if t.Cert == nil {
			continue
		}
		if r, err := ctl.NewRecord(t.Cert, ctl.RoleSAST, "", netip.Addr{}); err == nil {
			out = append(out, r)
		}
	}
	return out
}

func (b *builder) signedByDeclared(f *ctl.File) bool { return b.signedBy(f, b.tokenRecords()) }

// signedBy reports whether f's signer record is one of recs (ctl.SameIdentity, R19).
func (b *builder) signedBy(f *ctl.File, recs []ctl.Record) bool {
	i := f.SignerRecord()
	if i < 0 {
		return false
	}
	for _, r := range recs {
		if ctl.SameIdentity(&r, &f.Records[i]) {
			return true
		}
	}
	return false
}

// knownSigner reports whether f is signed by a SAST of the cluster's file (a phone holding
// it accepts f, R19) or by a declared token.
func (b *builder) knownSigner(f *ctl.File) bool {
	return ctl.Accepts(b.baseline, f) == nil || b.signedByDeclared(f)
}
