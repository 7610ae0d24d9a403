package plan

import (
	"crypto/x509"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/cucm"
	"github.com/ctlops/ctlops/spec"
)

// Build plans one cluster: the desired CTL computed from the declared tokens and the live
// inventory, compared record by record with the file the servers hold. now is the clock for
// expiry warnings.
func Build(c *spec.Cluster, l *Live, now time.Time) *Cluster {
	return BuildWith(c, l, now, Inputs{})
}

// BuildWith is Build with what the admin told the planner (Inputs: the nodes to replace).
func BuildWith(c *spec.Cluster, l *Live, now time.Time, in Inputs) *Cluster {
	p := &Cluster{
		Name:       c.Name,
		Suspended:  c.Suspend,
		Actions:    []Change{},
		Unchanged:  []Change{},
		Targets:    []TargetState{},
		Refusals:   []Problem{},
		Warnings:   []Problem{},
		Notes:      []Note{},
		AfterApply: []Step{},
		Signers:    []SignerOption{},
	}
	p.ExpiryWindow = windowSeconds(c.ExpiryWarning)
	if len(l.Errors) > 0 {
		p.Error = strings.Join(l.Errors, "; ")
		return p
	}
	b := &builder{spec: c, live: l, now: now, p: p}
	b.registration() // plan/registration.go
	if c.Signing == spec.SigningTokenless && l.Platform == nil {
		p.Error = "tokenless cluster: nothing was read through its platform CLI"
		return p
	}
	if isTokenless(c, l) {
		b.crossCheckAXL()  // plan/crosscheck.go: AXL against `show network cluster`
		b.buildTokenless() // plan/tokenless.go
		return p
	}
	b.inventory()
	b.crossCheckAXL() // plan/crosscheck.go
	b.liveFiles()
	desired := b.desired()
	b.diff(desired)
	b.mode()
	b.signers(desired)
	b.rules(desired)
	b.replace(in)
	b.finish()
	b.signWith()
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
	reason    Reason
	alternate bool
}

func (b *builder) refuse(p Problem) { b.p.Refusals = append(b.p.Refusals, p) }

func (b *builder) warn(p Problem) { b.p.Warnings = append(b.p.Warnings, p) }

func (b *builder) inventory() {
	inv := b.live.Inventory
	if inv == nil {
		b.p.Notes = append(b.p.Notes, NoteNoInventory)
		return
	}
	st := &InventoryState{From: b.live.InventoryFrom, Version: inv.Version, Mode: inv.Mode, Location: inv.FileLocation}
	for _, s := range inv.Servers {
		st.Servers = append(st.Servers, s.Name)
		if s.Error != "" {
			b.refuse(Problem{Kind: ServerUnreachable, Rule: "R26", Server: s.Name, Detail: s.Error})
		}
	}
	for _, f := range b.live.Foreign {
		b.warn(Problem{Kind: InventoryForeignTarget, Rule: "R14", Server: f.Server, Have: f.Address})
	}
	b.p.Inventory = st
	if b.spec.ExpectServers != nil {
		b.expectServers(inv)
	}
}

// expectServers turns an inventory that differs from the declared one into refusals: a server
// that appears or vanishes must be acknowledged in Git first (R14, R22).
func (b *builder) expectServers(inv *cucm.Inventory) {
	seen := map[string]bool{}
	for _, e := range b.spec.ExpectServers {
		s := findServer(inv, e.Host)
		if s == nil {
			b.refuse(Problem{Kind: ExpectedServerMissing, Rule: "R14", Pos: e.Pos.String(), Server: e.Host})
			continue
		}
		seen[s.Name] = true
		if e.IP != "" && s.IPv4.String() != e.IP {
			b.refuse(Problem{Kind: ExpectedIPDiffers, Rule: "R22", Pos: e.Pos.String(), Server: e.Host, Have: s.IPv4.String(), Want: e.IP})
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
				b.refuse(Problem{Kind: ExpectedRolesDiffer, Rule: "R14", Pos: e.Pos.String(), Server: e.Host,
					Have: strings.Join(have, "+"), Want: strings.Join(want, "+")})
			}
		}
	}
	for _, s := range inv.Servers {
		if !seen[s.Name] {
			b.refuse(Problem{Kind: UnexpectedServer, Rule: "R14", Server: s.Name})
		}
	}
}

func findServer(inv *cucm.Inventory, host string) *cucm.Server {
	for i := range inv.Servers {
		s := &inv.Servers[i]
		if strings.EqualFold(s.Name, host) || strings.EqualFold(s.DNSName, host) || s.IPv4.String() == host ||
			strings.EqualFold(ctl.ShortHost(s.DNSName), ctl.ShortHost(host)) {
			return s
		}
	}
	return nil
}

// expiry warns about a certificate that has expired or expires within the cluster's window
// (the spec's expiryWarning, or --expiry-window: spec.Cluster.ExpiryWarning).
func (b *builder) expiry(c *x509.Certificate, of *CertOf) {
	date := c.NotAfter.UTC().Format("2006-01-02")
	switch left := c.NotAfter.Sub(b.now); {
	case left <= 0:
		b.warn(Problem{Kind: CertificateExpired, Of: of, Date: date})
	case left < b.spec.ExpiryWarning:
		b.warn(Problem{Kind: CertificateExpiring, Of: of, Date: date, N: int(left.Hours() / 24)})
	}
}

func (b *builder) mode() {
	m := ModeChange{To: b.spec.Mode}
	if inv := b.live.Inventory; inv != nil {
		m.From = inv.Mode
		m.Changed = m.From != m.To
	}
	b.p.Mode = m
	if !m.Changed {
		return
	}
	if m.To == cucm.ModeMixed {
		b.p.Notes = append(b.p.Notes, NoteMixedNoAutoReg)
	} else {
		b.p.Notes = append(b.p.Notes, NoteNonSecureAutoReg)
	}
}

// summarise counts the actions into the summary; both kinds of cluster finish with it.
func (b *builder) summarise() {
	s := &b.p.Summary
	for _, a := range b.p.Actions {
		switch a.Action {
		case Create:
			s.Add++
		case Update:
			s.Refresh++
		case Replace:
			s.Replace++
		case Delete:
			s.Remove++
		}
	}
	s.Unchanged = len(b.p.Unchanged)
	s.Mode = b.p.Mode.Changed
}

// finish sets the summary and the steps after apply (R23).
func (b *builder) finish() {
	b.summarise()
	s := &b.p.Summary
	recordsChange := len(b.p.Actions) > 0
	// A first CTL in non-secure mode is not created: the default non-secure state has none (R12).
	firstNonSecure := b.baseline == nil && b.spec.Mode == cucm.ModeNonSecure
	switch {
	case firstNonSecure:
		recordsChange = false
		b.p.Notes = append(b.p.Notes, NoteFirstNonSecureNil)
	case !recordsChange:
		// Records stay as they are: servers that do not hold the cluster's file get it as is.
		for _, t := range b.p.Targets {
			if t.Status != Current {
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
			if sv.HasRole(cucm.RoleCCM) {
				ccm = append(ccm, sv.Name)
			}
			if sv.HasRole(cucm.RoleTFTP) {
				tftp = append(tftp, sv.Name)
			}
		}
	}
	// Cisco TFTP first, as the rollout (apply --restart-services) and the tokenless plan do:
	// phones fetch the new CTL from TFTP, so it must serve it before CallManager restarts and
	// phones re-register (docs/rollout.md; issue 16).
	if len(tftp) > 0 {
		b.p.AfterApply = append(b.p.AfterApply, Step{Kind: StepRestart, Service: cucm.ServiceTFTP, Servers: tftp, Rule: "R23"})
	}
	if len(ccm) > 0 {
		b.p.AfterApply = append(b.p.AfterApply, Step{Kind: StepRestart, Service: cucm.ServiceCallManager, Servers: ccm, Rule: "R23"})
	}
	b.p.AfterApply = append(b.p.AfterApply, Step{Kind: StepResetDevices, Cluster: b.spec.Name, Rule: "R23"})
}
