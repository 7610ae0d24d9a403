package plan

import (
	"fmt"
	"strings"

	"github.com/ctlops/ctlops/cucm"
	"github.com/ctlops/ctlops/internal/termsafe"
)

// This file is where the plan's kinds become English. Every view (text, markdown, JSON, the
// drift report) calls these; no code outside the package reads a sentence back. Strings that
// came from servers (names, error texts, signer names) pass through termsafe here, once.

var q = termsafe.Line

// String is the reason in words, "" for an unchanged record.
func (r Reason) String() string {
	switch r.Kind {
	case ReasonToken:
		// The reviewer checks the certificate against the token in hand.
		return fmt.Sprintf("declared token %s, certificate sha256 %s…", q(r.Name), prefix(r.Fingerprint, 16))
	case ReasonAlternate:
		return "declared alternate TFTP " + q(r.Name)
	case ReasonServer:
		return "discovered server " + q(r.Name)
	case ReasonCAPF:
		return "discovered CAPF on " + q(r.Name)
	case ReasonLiveFile:
		return "discovered live file"
	case ReasonTokenRemoved:
		return "token no longer declared"
	case ReasonServerRemoved:
		return "server no longer in the cluster's inventory"
	case ReasonNotInInventory:
		return "not in the live inventory"
	case ReasonFields:
		return fieldsText(r.Fields)
	case ReasonCUCMSAST:
		return "CUCM's own " + q(r.Name) + " SAST record (tokenless)"
	case ReasonCUCMSASTGone:
		return "a SAST record CUCM no longer writes"
	}
	return ""
}

func fieldsText(fs []FieldChange) string {
	var c []string
	for _, f := range fs {
		switch f.Field {
		case FieldRole:
			c = append(c, fmt.Sprintf("role %s → %s", f.From, f.To))
		case FieldHostName:
			c = append(c, fmt.Sprintf("host name %s → %s", orDash(q(f.From)), orDash(q(f.To))))
		case FieldIP:
			c = append(c, fmt.Sprintf("IP %s → %s", orDash(f.From), orDash(f.To)))
		case FieldCertificate:
			switch {
			case f.To == "":
				c = append(c, "certificate removed (non-secure placeholder, R12)")
			case f.From == "":
				c = append(c, "certificate added (mixed mode)")
			default:
				c = append(c, fmt.Sprintf("certificate %s… → %s…", prefix(f.From, 12), prefix(f.To, 12)))
			}
		case FieldNames:
			c = append(c, "subject/issuer strings")
		}
	}
	if len(c) == 0 {
		return "record fields re-encoded"
	}
	return strings.Join(c, ", ")
}

// Message is the problem in words, without its rule or position (the views add those).
func (p Problem) Message() string {
	s, srv := q(p.Server), q(p.Server)
	switch p.Kind {
	case ServerUnreachable:
		return fmt.Sprintf("server %s is not reachable from the cluster (%s): every server must be up before the CTL is updated", s, q(p.Detail))
	case ExpectedServerMissing:
		return fmt.Sprintf("expected server %s is missing from the cluster's inventory: its record would be removed; update expectServers if it was decommissioned", s)
	case ExpectedIPDiffers:
		return fmt.Sprintf("server %s reports IP %s, expectServers says %s", s, q(p.Have), p.Want)
	case ExpectedRolesDiffer:
		return fmt.Sprintf("server %s runs %s, expectServers says %s", s, q(p.Have), p.Want)
	case UnexpectedServer:
		return fmt.Sprintf("server %s is in the cluster's inventory but not in expectServers: add it to the spec to accept it", s)
	case FileFailsCheck:
		return fmt.Sprintf("server %s holds a CTL that fails its own check (%s): possible tampering; investigate before replacing it", srv, q(p.Detail))
	case FileUnknownSigner:
		return fmt.Sprintf("server %s holds a CTL signed by %q serial %s, which is neither a SAST record of the cluster's CTL nor a declared token: possible tampering", srv, q(p.Signer), p.Serial)
	case ClusterUnknownSigner:
		return fmt.Sprintf("the cluster's CTL is signed by %q serial %s, which is neither a declared token nor a retired one: possible tampering; if the file is genuine (signed by a token being retired), list that token under retiredTokens", q(p.Signer), p.Serial)
	case TokenRecordFails:
		return fmt.Sprintf("token %s: %s", p.Token, q(p.Detail))
	case ServerRecordFails:
		return fmt.Sprintf("server %s: %s", s, q(p.Detail))
	case ServerNoCertificate:
		return fmt.Sprintf("server %s: reports no %s certificate", s, p.Have)
	case AlternateUnreadable:
		return fmt.Sprintf("alternate TFTP server %s cannot be read: %s", s, q(p.Detail))
	case AlternateModePending:
		return fmt.Sprintf("alternate TFTP server %s is in cluster %s, which still runs %s; its own plan sets %s: apply both clusters", s, p.Cluster, q(p.Have), p.Want)
	case AlternateModeDiffers:
		return fmt.Sprintf("alternate TFTP server %s is in cluster %s, whose security mode is %s; this cluster is declared %s: both must run the same mode", s, p.Cluster, q(p.Have), p.Want)
	case AlternateVersion:
		return fmt.Sprintf("alternate TFTP server %s runs CallManager %s, this cluster %s: both must run the same version", s, q(p.Have), q(p.Want))
	case AlternateLocation:
		return fmt.Sprintf("alternate TFTP server %s uses FileLocation %s, this cluster %s", s, q(p.Have), q(p.Want))
	case AlternateNoCertificate:
		return fmt.Sprintf("alternate TFTP server %s reports no TFTP certificate", s)
	case AlternateRecordFails:
		return fmt.Sprintf("alternate TFTP server %s: %s", s, q(p.Detail))
	case CertificateExpired:
		return fmt.Sprintf("%s expired on %s", p.Of, p.Date)
	case CertificateExpiring:
		return fmt.Sprintf("%s expires on %s, in %d days", p.Of, p.Date, p.N)
	case NoTrustedSigner:
		return "no declared token is a SAST record of the installed CTL, so no signer could produce a file that phones accept; keep at least one of: " + q(strings.Join(p.List, ", "))
	case SignerRemoved:
		return fmt.Sprintf("the installed file was signed by %q, which this plan removes: apply must sign with another trusted token", q(p.Signer))
	case TooFewTokens:
		return fmt.Sprintf("the CTL must always hold at least two security tokens; %d declared", p.N)
	case TwoTokensLeft:
		return "only two tokens are left: R16 allows no fewer, so add a token before retiring another"
	case DesiredUnencodable:
		return "the desired file cannot be encoded: " + q(p.Detail)
	case DesiredTooLarge:
		return fmt.Sprintf("the desired file would be about %d bytes; phones fail to load a CTL over %d bytes", p.N, MaxCTLSize)
	case FileGrows:
		return fmt.Sprintf("the file grows from %d to %d records", p.N, p.M)
	case PlatformNodeUndeclared:
		return fmt.Sprintf("node %s (%s) is in `show network cluster` but not declared under platform.nodes: declare it (with how to reach it) so that its certificates and files can be read", s, q(p.Have))
	case PlatformNodeMissing:
		return fmt.Sprintf("node %s is declared under platform.nodes but not in `show network cluster`: remove it from the spec if it was decommissioned", s)
	case TokenlessOneSAST:
		return fmt.Sprintf("release %s writes one SAST record (the publisher's CallManager certificate) into a tokenless CTL; the ITLRecovery SAST that meets R16 comes with 10.5(2)", q(p.Have))
	case ITLDrift:
		return q(p.Detail)
	case SignWithUntrusted:
		return fmt.Sprintf("signWith signs with %q, which is not a SAST record of the installed CTL: phones would reject the file it signs; sign with one of: %s", q(p.Signer), q(strings.Join(p.List, ", ")))
	case ReplaceNothing:
		return fmt.Sprintf("--replace %s: the server's file is not refused (it is %s): nothing to replace there; is it the node you investigated?", s, p.Have)
	case InventoryAXLDiffers:
		return fmt.Sprintf("server %s is listed by %s but not by %s: check the cluster's nodes before trusting the inventory", s, p.Have, p.Want)
	case InventoryAXLUnread:
		return fmt.Sprintf("AXL listProcessNode on %s could not cross-check the inventory: %s", s, q(p.Detail))
	case RegistrationUnread:
		return fmt.Sprintf("RisPort70 selectCmDevice on %s could not count the phones' registrations: %s", s, q(p.Detail))
	case InventoryForeignTarget:
		return fmt.Sprintf("server %s: the inventory names %s as its CTL Provider, which the spec's trust configuration does not cover: ignored, never contacted", s, q(p.Have))
	}
	if m, ok := p.phoneMessage(); ok {
		return m
	}
	return string(p.Kind)
}

// String is whose certificate it is, in words.
func (o *CertOf) String() string {
	switch {
	case o == nil:
		return "certificate"
	case o.Token != "":
		return "certificate of token " + o.Token
	case o.Alternate != "":
		return "certificate of alternate TFTP server " + q(o.Alternate)
	}
	return fmt.Sprintf("%s certificate of server %s", o.Role, q(o.Server))
}

// String is the note in words.
func (n Note) String() string {
	switch n {
	case NoteNoInventory:
		return "No CTL Provider inventory (read-only sources): server records are taken from the live file as they are; only tokens, signatures and agreement between servers are checked."
	case NoteMixedNoAutoReg:
		return "Mixed mode disables auto-registration (R11): phones not yet in the database will no longer register by themselves."
	case NoteNonSecureAutoReg:
		return "Non-secure mode allows auto-registration again (R11); the CTL stays on the servers without certificates and phones ask for unsigned configuration files (R12)."
	case NoteNonSecureCerts:
		return "The cluster is declared non-secure but its CTL still holds server certificates; non-secure mode keeps the file without them (R12)."
	case NoteFirstNonSecureNil:
		return "The cluster is declared non-secure and holds no CTL: nothing to create (R12)."
	case NoteTokenless:
		return "Tokenless cluster: CUCM builds and signs this CTL itself on the publisher; ctlops predicts the file, runs the one CLI command the plan names and checks every node's copy. Record order, alternate TFTP servers and ASA records cannot be chosen through the CLI."
	}
	return string(n)
}

// serviceNames are the services as CallManager's Control Center names them.
var serviceNames = map[cucm.Service]string{cucm.ServiceCallManager: "Cisco CallManager", cucm.ServiceTFTP: "Cisco TFTP"}

// String is the step in words.
func (s Step) String() string {
	rule := ""
	if s.Rule != "" {
		rule = " (" + s.Rule + ")"
	}
	switch s.Kind {
	case StepRestart:
		name := serviceNames[s.Service]
		if name == "" {
			name = string(s.Service)
		}
		return "Restart " + name + " on " + q(strings.Join(s.Servers, ", ")) + rule
	case StepResetDevices:
		return "Reset every device of cluster " + s.Cluster + ", in a maintenance window" + rule
	}
	return string(s.Kind)
}

// Note is what a view adds after a server's status, "" when nothing.
func (t TargetState) Note() string {
	switch {
	case t.Status == Invalid:
		return q(t.Invalid)
	case t.Status == Differs && t.UnknownSigner:
		return "signed by a key that is neither a SAST record of the cluster's CTL nor a declared token"
	case t.Status == Differs:
		return fmt.Sprintf("holds another file (signed %s by %s)", t.SignedAt, q(t.Signer))
	}
	return ""
}

func prefix(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
