package plan

import (
	"crypto/md5"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"sort"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/cucm"
	"github.com/ctlops/ctlops/cucm/tokenless"
	"github.com/ctlops/ctlops/spec"
)

// buildTokenless plans a cluster whose CTL CUCM builds and signs itself (signing:
// tokenless). The desired file is the prediction of what the publisher builds from its
// inventory and release (cucm/tokenless, §3); every node's live file is compared with it and
// with the publisher's (R22: the CTL must be the same on every node). The plan calls for one
// publisher command: set-cluster mixed-mode / non-secure-mode when the mode differs, else
// update CTLFile when any node differs, else nothing.
//
// A file that fails its check or has another signer is drift that `update CTLFile` repairs
// (CUCM rewrites it with its own key), so unlike a token cluster it is reported, not refused.
func (b *builder) buildTokenless() {
	pl := b.live.Platform
	inv := pl.Inventory
	liveMode := cucm.ModeNonSecure
	if inv.Mixed {
		liveMode = cucm.ModeMixed
	}
	b.p.Inventory = &InventoryState{From: pl.From, Version: pl.Version, Mode: liveMode}
	for _, n := range pl.IMAndPresence {
		b.p.IMAndPresence = append(b.p.IMAndPresence, IMAndPresenceNode{Node: n})
	}
	for i, n := range pl.Nodes {
		b.p.Inventory.Servers = append(b.p.Inventory.Servers, n.Name)
		switch {
		case !n.Declared:
			b.refuse(Problem{Kind: PlatformNodeUndeclared, Rule: "R14", Server: n.Name, Have: inv.Nodes[i].IP.String()})
		case n.Err != "":
			b.refuse(Problem{Kind: ServerUnreachable, Rule: "R26", Server: n.Name, Detail: n.Err})
		}
	}
	for _, m := range pl.Missing {
		b.refuse(Problem{Kind: PlatformNodeMissing, Rule: "R14", Server: m})
	}
	b.p.Mode = ModeChange{From: liveMode, To: b.spec.Mode, Changed: liveMode != b.spec.Mode}
	switch {
	case b.p.Mode.Changed && b.spec.Mode == cucm.ModeMixed:
		b.p.Notes = append(b.p.Notes, NoteMixedNoAutoReg)
	case b.p.Mode.Changed:
		b.p.Notes = append(b.p.Notes, NoteNonSecureAutoReg)
	}
	b.p.Notes = append(b.p.Notes, NoteTokenless)
	if len(b.p.Refusals) > 0 {
		return // a node that was not read leaves nothing to predict from
	}
	want := inv
	want.Mixed = b.spec.Mode == cucm.ModeMixed
	pred, err := tokenless.PredictWithin(want, b.now, b.spec.ExpiryWarning)
	if err != nil {
		b.p.Error = err.Error()
		return
	}
	b.tokenlessExpiry(&inv)
	pub := inv.Publisher()
	pp := &PlatformPlan{Publisher: pub.Name, Release: inv.Release.String(), Signer: string(pred.Signer),
		SignerSubject: ctl.NameString(pred.SignerCert.Subject), SignerSHA256: ctl.Fingerprint(pred.SignerCert.Raw), Nodes: []PlatformNodeState{}}
	b.p.Platform = pp
	if want.Mixed && sastCount(pred.File) < 2 {
		b.warn(Problem{Kind: TokenlessOneSAST, Rule: "R16", Have: pp.Release})
	}
	b.tokenlessNodes(pl, &inv, pred, pp)
	b.tokenlessPhones(pl, &inv, pred) // phones.go: which phone models refuse CUCM's signer
	switch {
	case want.Mixed && !inv.Mixed:
		pp.Command = CommandSetMixed
	case !want.Mixed && inv.Mixed:
		pp.Command = CommandSetNonSecure
	default:
		for _, n := range pp.Nodes {
			if len(n.Differences) > 0 {
				pp.Command = CommandUpdateCTL
			}
		}
	}
	b.tokenlessDiff(pred.File)
	b.tokenlessFinish(&inv)
}

// tokenlessNodes fills each node's state and the plan's targets: the TFTP file against the
// prediction, `show ctl` against the TFTP file, the node against the publisher (R22), and
// the ITL (warnings only, the "ITL drift").
func (b *builder) tokenlessNodes(pl *PlatformLive, inv *tokenless.Inventory, pred *tokenless.Prediction, pp *PlatformPlan) {
	var pubSum string
	for i, n := range pl.Nodes {
		if inv.Nodes[i].Publisher {
			pubSum = n.ShowCTLMD5
		}
	}
	for i, n := range pl.Nodes {
		tn := &inv.Nodes[i]
		ns := PlatformNodeState{Node: n.Name, Publisher: tn.Publisher, ShowCTLMD5: n.ShowCTLMD5, Differences: []NodeDifference{}}
		diff := func(kind, rec, detail string) {
			ns.Differences = append(ns.Differences, NodeDifference{Kind: kind, Record: rec, Detail: detail})
		}
		if tn.TFTP && n.TFTP != "" {
			ns.TFTP = true
			ts := TargetState{Server: n.Name, Address: "tftp://" + n.TFTP + "/" + cucm.FileName, Status: Missing}
			var f *ctl.File
			if n.CTL != nil {
				s := md5.Sum(n.CTL)
				ns.TFTPMD5 = hex.EncodeToString(s[:])
				ts.Digest = cucm.Digest(n.CTL)
				var err error
				if f, err = ctl.Parse(n.CTL); err != nil {
					diff("unsigned", "", "the file does not parse: "+err.Error())
					ts.Status, ts.Invalid = Invalid, err.Error()
				} else {
					ts.Signer = f.Header.SignerName
					if err := f.Verify(); err != nil {
						ts.Status, ts.Invalid = Invalid, err.Error()
						b.warn(Problem{Kind: FileFailsCheck, Rule: "R19", Server: n.Name, Detail: err.Error()})
					}
				}
			}
			if ts.Status != Invalid || f != nil {
				for _, d := range tokenless.Compare(pred, f) {
					diff(d.Kind, d.Record, d.Detail)
				}
			}
			if n.ShowCTLMD5 != ns.TFTPMD5 {
				diff("inconsistent", "", fmt.Sprintf("`show ctl` checksum %s, TFTP serves %s", orNoCTL(n.ShowCTLMD5), orNoCTL(ns.TFTPMD5)))
			}
			if ts.Status == Missing && n.CTL != nil {
				ts.Status = Current
				if len(ns.Differences) > 0 {
					ts.Status = Differs
				}
			}
			if ts.Status == Differs && f != nil {
				ts.SignedAt = f.Header.Timestamp.UTC().Format("2006-01-02T15:04:05Z07:00")
			}
			b.p.Targets = append(b.p.Targets, ts)
			b.tokenlessITL(inv, tn, n.ITL)
		}
		if n.ShowCTLMD5 != pubSum {
			diff("inconsistent", "", fmt.Sprintf("holds another CTL than the publisher (MD5 %s, publisher %s)", orNoCTL(n.ShowCTLMD5), orNoCTL(pubSum)))
		}
		pp.Nodes = append(pp.Nodes, ns)
	}
}

// tokenlessITL turns the ITL checks of one TFTP node into warnings: ctlops does not manage
// the ITL (CUCM rebuilds it), but a stale one is the commonest reason phones stop trusting.
func (b *builder) tokenlessITL(inv *tokenless.Inventory, tn *tokenless.Node, data []byte) {
	var itl *ctl.File
	if data != nil {
		f, err := ctl.Parse(data)
		if err != nil {
			b.warn(Problem{Kind: ITLDrift, Server: tn.Name, Detail: "ITL of " + tn.Name + " does not parse: " + err.Error()})
			return
		}
		itl = f
	}
	for _, w := range tokenless.CheckITL(inv, tn, itl) {
		b.warn(Problem{Kind: ITLDrift, Server: tn.Name, Detail: w})
	}
}

// tokenlessDiff is the record diff between the file the publisher holds (the baseline) and
// the prediction. The `show ctl` text diff lists records sorted by role and name on both
// sides, because CUCM's record order is [unconfirmed]: an order difference is not drift.
func (b *builder) tokenlessDiff(pred *ctl.File) {
	var base *ctl.File
	for i, n := range b.live.Platform.Nodes {
		if b.live.Platform.Inventory.Nodes[i].Publisher && n.CTL != nil {
			if f, err := ctl.Parse(n.CTL); err == nil {
				base = f
				b.baseDigest = cucm.Digest(n.CTL)
			}
		}
	}
	if base == nil { // a publisher without TFTP: the file most nodes serve
		count := map[string]int{}
		for _, t := range b.p.Targets {
			if t.Digest != "" && t.Status != Invalid {
				count[t.Digest]++
			}
		}
		for _, n := range b.live.Platform.Nodes {
			if n.CTL == nil {
				continue
			}
			d := cucm.Digest(n.CTL)
			if f, err := ctl.Parse(n.CTL); err == nil && (base == nil || count[d] > count[b.baseDigest]) {
				base, b.baseDigest = f, d
			}
		}
	}
	b.baseline = base
	if base == nil {
		b.p.Live = &FileState{}
	} else {
		b.p.Live = &FileState{Digest: b.baseDigest, Signer: base.Header.SignerName, Records: len(base.Records),
			Timestamp: base.Header.Timestamp.UTC().Format("2006-01-02T15:04:05Z07:00")}
	}
	pub := b.live.Platform.Inventory.Publisher()
	for _, r := range pred.Records {
		m := recordMeta{source: "CUCM " + r.DNSName, reason: Reason{Kind: ReasonServer, Rule: "R14", Name: r.DNSName}}
		switch {
		case r.Role == ctl.RoleSAST:
			which := string(tokenless.SignerCallManager)
			if pub.ITLRecoveryCert != nil && string(r.Certificate) == string(pub.ITLRecoveryCert.Raw) {
				which = string(tokenless.SignerITLRecovery)
			}
			m = recordMeta{source: which + " of " + r.DNSName, reason: Reason{Kind: ReasonCUCMSAST, Rule: "R16", Name: which}}
		case r.Role == ctl.RoleCAPF:
			m = recordMeta{source: "CAPF on " + r.DNSName, reason: Reason{Kind: ReasonCAPF, Rule: "R14", Name: r.DNSName}}
		}
		b.meta = append(b.meta, m)
	}
	b.diff(pred)
	for i := range b.p.Actions {
		if a := &b.p.Actions[i]; a.Action == Delete && a.Reason.Kind == ReasonTokenRemoved {
			a.Reason = Reason{Kind: ReasonCUCMSASTGone, Rule: "R16"}
		}
	}
	var live []ctl.Record
	if base != nil {
		live = base.Records
	}
	b.p.Diff = unified(recordsText(sortedRecords(live)), recordsText(sortedRecords(pred.Records)), "live", "desired")
	if b.p.Diff != "" || b.p.Platform.Command != "" {
		enc, err := pred.Marshal()
		if err == nil {
			b.p.Desired = &DesiredFile{Records: len(pred.Records), Size: len(enc), Data: enc}
		}
	}
}

func sortedRecords(rs []ctl.Record) []ctl.Record {
	out := append([]ctl.Record(nil), rs...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Role != out[j].Role {
			return out[i].Role < out[j].Role
		}
		if out[i].DNSName != out[j].DNSName {
			return out[i].DNSName < out[j].DNSName
		}
		return out[i].SubjectName < out[j].SubjectName
	})
	return out
}

// tokenlessFinish sets the summary and the R23 steps: restart Cisco TFTP and Cisco
// CallManager on every node that runs them, one node at a time (apply --restart-services
// does it, publisher first), then reset the phones.
func (b *builder) tokenlessFinish(inv *tokenless.Inventory) {
	b.summarise() // plan/build.go
	s := &b.p.Summary
	if len(b.p.Actions) == 0 && b.p.Platform.Command != "" {
		for _, t := range b.p.Targets {
			if t.Status != Current {
				s.Sync++
			}
		}
	}
	s.Changes = b.p.Platform.Command != ""
	if !s.Changes {
		b.p.Desired = nil
		return
	}
	var ccm, tftp []string
	for _, n := range inv.Nodes {
		if n.CallManager {
			ccm = append(ccm, n.Name)
		}
		if n.TFTP {
			tftp = append(tftp, n.Name)
		}
	}
	if len(tftp) > 0 {
		b.p.AfterApply = append(b.p.AfterApply, Step{Kind: StepRestart, Service: cucm.ServiceTFTP, Servers: tftp, Rule: "R23"})
	}
	if len(ccm) > 0 {
		b.p.AfterApply = append(b.p.AfterApply, Step{Kind: StepRestart, Service: cucm.ServiceCallManager, Servers: ccm, Rule: "R23"})
	}
	b.p.AfterApply = append(b.p.AfterApply, Step{Kind: StepResetDevices, Cluster: b.spec.Name, Rule: "R23"})
}

// tokenlessExpiry warns about every certificate the CTL carries: expired is a warning in
// every read-only path (a monitor must still run and say so), and CUCM keeps signing with it.
func (b *builder) tokenlessExpiry(inv *tokenless.Inventory) {
	for _, n := range inv.Nodes {
		for _, c := range []struct {
			cert *x509.Certificate
			role cucm.Role
		}{{n.CallManagerCert, cucm.RoleCCM}, {n.CAPFCert, cucm.RoleCAPF}, {n.ITLRecoveryCert, RoleITLRecovery}} {
			if c.cert != nil {
				b.expiry(c.cert, &CertOf{Server: n.Name, Role: c.role})
			}
		}
	}
}

// RoleITLRecovery names the publisher's ITLRecovery certificate in a warning; it is no
// server function, so it is not one of cucm's roles.
const RoleITLRecovery cucm.Role = "ITLRecovery"

func sastCount(f *ctl.File) int {
	n := 0
	for _, r := range f.Records {
		if r.Role == ctl.RoleSAST {
			n++
		}
	}
	return n
}

func orNoCTL(s string) string {
	if s == "" {
		return "(no CTL)"
	}
	return s
}

// isTokenless reports whether the cluster is planned from its platform CLI read.
func isTokenless(c *spec.Cluster, l *Live) bool {
	return c.Signing == spec.SigningTokenless && l.Platform != nil
}
