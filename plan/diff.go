package plan

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sergi/go-diff/diffmatchpatch"

	"github.com/ctlops/ctlops/ctl"
)

// class groups roles whose records describe the same kind of thing: a server that gains the
// TFTP role keeps its record (refreshed), a token never turns into a server.
func class(r ctl.Role) string {
	switch r {
	case ctl.RoleCCM, ctl.RoleTFTP, ctl.RoleCCMTFTP:
		return "server"
	}
	return r.String()
}

// same reports whether two records are equal for phones: same role, name, address and
// certificate. Layout differences (a Windows-client record without tag 8) do not count.
func same(a, b *ctl.Record) bool {
	return a.Role == b.Role && a.DNSName == b.DNSName && a.IPAddress == b.IPAddress &&
		string(a.Certificate) == string(b.Certificate) && a.SubjectName == b.SubjectName &&
		a.IssuerName == b.IssuerName && ctl.SameSerial(a.SerialNumber, b.SerialNumber) &&
		string(a.PublicKey) == string(b.PublicKey)
}

// diff pairs desired records with live ones: equal pairs first, then the same server by name,
// then by address, then by certificate (R22: a server whose address, name or certificate
// changed is refreshed, not removed and added). What is left is added or removed.
func (b *builder) diff(desired *ctl.File) {
	var live []ctl.Record
	if b.baseline != nil {
		live = b.baseline.Records
	}
	pair := make([]int, len(desired.Records)) // desired index -> live index, -1 none
	used := make([]bool, len(live))
	for i := range pair {
		pair[i] = -1
	}
	match := func(ok func(d, l *ctl.Record) bool) {
		for i := range desired.Records {
			if pair[i] >= 0 {
				continue
			}
			for j := range live {
				if !used[j] && ok(&desired.Records[i], &live[j]) {
					pair[i], used[j] = j, true
					break
				}
			}
		}
	}
	match(same)
	match(func(d, l *ctl.Record) bool {
		return class(d.Role) == class(l.Role) && d.Role != ctl.RoleSAST && d.DNSName != "" && strings.EqualFold(d.DNSName, l.DNSName)
	})
	match(func(d, l *ctl.Record) bool {
		return class(d.Role) == class(l.Role) && d.Role != ctl.RoleSAST && d.IPAddress.IsValid() && d.IPAddress == l.IPAddress
	})
	match(func(d, l *ctl.Record) bool {
		return class(d.Role) == class(l.Role) && len(d.Certificate) > 0 && string(d.Certificate) == string(l.Certificate)
	})

	for i := range desired.Records {
		d := &desired.Records[i]
		after := state(d, b.meta[i].source)
		j := pair[i]
		if j < 0 {
			b.p.Actions = append(b.p.Actions, Change{Action: Create, Record: d.Title(), Reason: b.meta[i].reason, After: after})
			continue
		}
		l := &live[j]
		before := state(l, "")
		if same(d, l) {
			b.p.Unchanged = append(b.p.Unchanged, Change{Action: NoOp, Record: d.Title(), Before: before, After: after})
			continue
		}
		a := Change{Action: Update, Record: d.Title(), Reason: Reason{Kind: ReasonFields, Rule: "R22", Fields: changes(l, d)}, Before: before, After: after}
		if b.meta[i].alternate {
			// An alternate TFTP entry is updated by deleting and adding it again (R18).
			a.Action, a.Reason.Rule = Replace, "R18"
		}
		b.p.Actions = append(b.p.Actions, a)
	}
	for j := range live {
		if used[j] {
			continue
		}
		l := &live[j]
		b.p.Actions = append(b.p.Actions, Change{Action: Delete, Record: l.Title(), Reason: b.removeReason(l), Before: state(l, "")})
	}
	if !slices.EqualFunc(live, desired.Records, func(l, d ctl.Record) bool { return l.Equal(&d) }) {
		// Records that are Equal print alike: only files that differ are rendered to compare.
		b.p.Diff = unified(recordsText(live), recordsText(desired.Records), "live", "desired")
	}
}

func (b *builder) removeReason(l *ctl.Record) Reason {
	switch {
	case l.Role == ctl.RoleSAST:
		return Reason{Kind: ReasonTokenRemoved, Rule: "R15"}
	case b.live.Inventory == nil:
		return Reason{Kind: ReasonNotInInventory, Rule: "R22"}
	}
	return Reason{Kind: ReasonServerRemoved, Rule: "R22"}
}

// changes lists what differs between two records of the same server.
func changes(l, d *ctl.Record) []FieldChange {
	var c []FieldChange
	if l.Role != d.Role {
		c = append(c, FieldChange{Field: FieldRole, From: l.Role.String(), To: d.Role.String()})
	}
	if l.DNSName != d.DNSName {
		c = append(c, FieldChange{Field: FieldHostName, From: l.DNSName, To: d.DNSName})
	}
	if l.IPAddress != d.IPAddress {
		c = append(c, FieldChange{Field: FieldIP, From: addr(l), To: addr(d)})
	}
	switch {
	case string(l.Certificate) != string(d.Certificate):
		c = append(c, FieldChange{Field: FieldCertificate, From: fingerprint(l), To: fingerprint(d)})
	case l.SubjectName != d.SubjectName || l.IssuerName != d.IssuerName:
		c = append(c, FieldChange{Field: FieldNames, From: l.SubjectName, To: d.SubjectName})
	}
	return c
}

func fingerprint(r *ctl.Record) string {
	if len(r.Certificate) == 0 {
		return ""
	}
	return ctl.Fingerprint(r.Certificate)
}

func addr(r *ctl.Record) string {
	if !r.IPAddress.IsValid() {
		return ""
	}
	return r.IPAddress.String()
}

func state(r *ctl.Record, source string) *RecordState {
	s := &RecordState{Role: r.Role.String(), DNSName: r.DNSName, Subject: r.SubjectName, Source: source}
	if r.IPAddress.IsValid() {
		s.IPAddress = r.IPAddress.String()
	}
	if r.SerialNumber != nil {
		s.Serial = ctl.SerialHex(r.SerialNumber)
	}
	if len(r.Certificate) > 0 {
		s.CertificateSHA256 = ctl.Fingerprint(r.Certificate)
		if at, err := r.NotAfter(); err == nil {
			s.NotAfter = at.UTC().Format(time.RFC3339)
		}
	}
	return s
}

// recordsText is the canonical text of records only: the header of the live file (signer,
// timestamp) always differs from an unsigned desired file and would only be noise.
func recordsText(recs []ctl.Record) string {
	var b strings.Builder
	for i := range recs {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(recs[i].Text())
	}
	return b.String()
}

// unified renders a line diff with three lines of context, in the unified format reviewers
// know from git.
func unified(a, b, nameA, nameB string) string {
	if a == b {
		return ""
	}
	dmp := diffmatchpatch.New()
	ca, cb, lines := dmp.DiffLinesToChars(a, b)
	diffs := dmp.DiffCharsToLines(dmp.DiffMain(ca, cb, false), lines)
	type line struct {
		op   byte
		text string
	}
	var all []line
	for _, d := range diffs {
		op := byte(' ')
		switch d.Type {
		case diffmatchpatch.DiffInsert:
			op = '+'
		case diffmatchpatch.DiffDelete:
			op = '-'
		}
		for _, t := range strings.SplitAfter(d.Text, "\n") {
			if t != "" {
				all = append(all, line{op, strings.TrimSuffix(t, "\n")})
			}
		}
	}
	const ctx = 3
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", nameA, nameB)
	for i := 0; i < len(all); {
		if all[i].op == ' ' {
			i++
			continue
		}
		// A hunk: back up ctx lines, extend while changes are within 2*ctx of each other.
		start := max(i-ctx, 0)
		end := i
		for end < len(all) {
			if all[end].op != ' ' {
				end++
				continue
			}
			run := end
			for run < len(all) && all[run].op == ' ' {
				run++
			}
			if run == len(all) || run-end > 2*ctx {
				end = min(end+ctx, len(all))
				break
			}
			end = run
		}
		na, nb, la, lb := 0, 0, 1, 1
		for _, l := range all[:start] {
			if l.op != '+' {
				la++
			}
			if l.op != '-' {
				lb++
			}
		}
		for _, l := range all[start:end] {
			if l.op != '+' {
				na++
			}
			if l.op != '-' {
				nb++
			}
		}
		// An empty side names the line after which the other side's lines go, as diff(1)
		// and git write it: "-0,0" for a file that had none.
		if na == 0 {
			la--
		}
		if nb == 0 {
			lb--
		}
		fmt.Fprintf(&out, "@@ -%d,%d +%d,%d @@\n", la, na, lb, nb)
		for _, l := range all[start:end] {
			out.WriteByte(l.op)
			out.WriteString(l.text)
			out.WriteByte('\n')
		}
		i = end
	}
	return out.String()
}
