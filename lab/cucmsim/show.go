package cucmsim

import (
	"crypto/md5"
	"crypto/sha1"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/ctlops/ctlops/ctl"
)

const since = "Mon Jul 1 13:44:09 2019"

// showNetworkCluster prints one line per node (§2.10), peers with "using TCP since", and on
// the publisher the processnode table.
func (n *Node) showNetworkCluster() string {
	c := n.c
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, m := range c.nodes {
		role, db := "Subscriber", "DBSub"
		if m.spec.Publisher {
			role, db = "Publisher", "DBPub"
		}
		product := "callmanager"
		if m.spec.IMAndPresence {
			product = "cups"
		}
		fmt.Fprintf(&b, "%s %s %s %s %s %s authenticated", m.spec.IP, m.fqdnLocked(), m.spec.Name, role, product, db)
		if m != n {
			b.WriteString(" using TCP since " + since)
		}
		b.WriteString("\n")
	}
	if n.spec.Publisher {
		b.WriteString("\nServer Table (processnode) Entries\n----------------------------------\n")
		for _, m := range c.nodes {
			b.WriteString(m.spec.Name + "\n")
		}
	}
	return b.String()
}

// showCertOwn prints a certificate the way scripts expect it: a few labelled lines, then
// the PEM (§2.11). The labelled part beyond the three documented lines is [unconfirmed].
func (n *Node) showCertOwn(unit string) string {
	n.c.mu.Lock()
	defer n.c.mu.Unlock()
	k := n.keys[unit]
	if k == nil {
		// Wording for a unit the node lacks is [unconfirmed].
		return "Invalid unit or certificate not found: " + unit + "\n"
	}
	c := k.cert
	var b strings.Builder
	fmt.Fprintf(&b, "[\n  Version: V3\n  Serial Number: %X\n  SignatureAlgorithm: SHA256withRSA (1.2.840.113549.1.1.11)\n", c.SerialNumber)
	fmt.Fprintf(&b, "  Issuer Name: %s\n  Validity From: %s\n           To:   %s\n  Subject Name: %s\n  Key: RSA (1.2.840.113549.1.1.1)\n]\n",
		strings.ReplaceAll(c.Issuer.String(), ",", ", "), c.NotBefore.UTC().Format("Mon Jan 02 15:04:05 MST 2006"),
		c.NotAfter.UTC().Format("Mon Jan 02 15:04:05 MST 2006"), strings.ReplaceAll(c.Subject.String(), ",", ", "))
	b.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
	return b.String()
}

// showCTL renders the node's CTL as CUCM 10.5 does (§2.3), with line breaks.
func (n *Node) showCTL() string {
	n.c.mu.Lock()
	data := append([]byte(nil), n.ctlFile...)
	mod := n.c.ctlMod
	n.c.mu.Unlock()
	if len(data) == 0 {
		return "Length of CTL file: 0\nCTL File not found. Please run CTLClient plugin or run the CLI - utils ctl.. to generate the CTL file.\nError parsing the CTL File.\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "The checksum value of the CTL file:\n%x(MD5)\n%x(SHA1)\n\n", md5.Sum(data), sha1.Sum(data))
	fmt.Fprintf(&b, "Length of CTL file: %d\nThe CTL File was last modified on %s\n\n", len(data), mod.UTC().Format("Mon Jan 02 15:04:05 MST 2006"))
	f, err := ctl.Parse(data)
	if err != nil {
		// A file CUCM cannot parse: the wording is [unconfirmed].
		b.WriteString("Error parsing the CTL File.\n")
		return b.String()
	}
	h := &f.Header
	const row = "%-7d %-15s %-7d %s\n"
	b.WriteString("Parse CTL File\n----------------\n\n")
	fmt.Fprintf(&b, "Version:        %d.%d\nHeaderLength:   %d (BYTES)\n\n", h.Version[0], h.Version[1], h.HeaderLength)
	b.WriteString("BYTEPOS TAG             LENGTH  VALUE\n------- ---             ------  -----\n")
	fmt.Fprintf(&b, row, 3, "SIGNERID", 2, fmt.Sprint(h.HeaderLength/2))
	fmt.Fprintf(&b, row, 4, "SIGNERNAME", len(h.SignerName)+1, h.SignerName)
	fmt.Fprintf(&b, row, 5, "SERIALNUMBER", len(h.SignerSerial), colonHex(h.SignerSerial))
	fmt.Fprintf(&b, row, 6, "CANAME", len(h.SignerIssuer)+1, h.SignerIssuer)
	fmt.Fprintf(&b, row, 7, "SIGNATUREINFO", 2, "15")
	fmt.Fprintf(&b, "%-7d %-23s %d\n", 8, "DIGESTALGORTITHM", 1)
	fmt.Fprintf(&b, row, 9, "SIGNATUREALGOINFO", 2, "8")
	fmt.Fprintf(&b, "%-7d %-23s %d\n", 10, "SIGNATUREALGORTITHM", 1)
	fmt.Fprintf(&b, "%-7d %-23s %d\n", 11, "SIGNATUREMODULUS", 1)
	fmt.Fprintf(&b, row, 12, "SIGNATURE", len(h.Signature), spacedHex(h.Signature, "  "))
	fmt.Fprintf(&b, "%-7d %-15s %d\n", 14, "FILENAME", 12)
	fmt.Fprintf(&b, "%-7d %-15s %d\n\n", 15, "TIMESTAMP", 4)
	signer := f.SignerRecord()
	for i := range f.Records {
		r := &f.Records[i]
		fmt.Fprintf(&b, "CTL Record #:%d\n----\nBYTEPOS TAG             LENGTH  VALUE\n------- ---             ------  -----\n", i+1)
		fmt.Fprintf(&b, row, 1, "RECORDLENGTH", 2, fmt.Sprint(recordLength(r)))
		fmt.Fprintf(&b, row, 2, "DNSNAME", len(r.DNSName)+1, r.DNSName)
		if !r.IsPlaceholder() {
			fmt.Fprintf(&b, row, 3, "SUBJECTNAME", len(r.SubjectName)+1, r.SubjectName)
		}
		fmt.Fprintf(&b, row, 4, "FUNCTION", 2, function(r.Role))
		if !r.IsPlaceholder() {
			fmt.Fprintf(&b, row, 5, "ISSUERNAME", len(r.IssuerName)+1, r.IssuerName)
			fmt.Fprintf(&b, row, 6, "SERIALNUMBER", len(r.SerialNumber), colonHex(r.SerialNumber))
			fmt.Fprintf(&b, "%-7d %-15s %d\n", 7, "PUBLICKEY", len(r.PublicKey))
			fmt.Fprintf(&b, "%-7d %-15s %d\n", 8, "SIGNATURE", len(r.CertSignature))
			sum := sha1.Sum(r.Certificate)
			fmt.Fprintf(&b, row, 9, "CERTIFICATE", len(r.Certificate), spacedHex(sum[:], " ")+" (SHA1 Hash HEX)")
		}
		fmt.Fprintf(&b, "%-7d %-15s %d\n", 10, "IPADDRESS", 4)
		if r.Role == ctl.RoleSAST {
			if i == signer {
				b.WriteString("This etoken was used to sign the CTL file.\n")
			} else {
				b.WriteString("This etoken was not used to sign the CTL file.\n")
			}
		}
		b.WriteString("\n")
	}
	if f.Verify() == nil {
		b.WriteString("The CTL file was verified successfully.\n")
	} else {
		// What CUCM prints for a file that fails verification is [unconfirmed].
		b.WriteString("The CTL file verification failed.\n")
	}
	return b.String()
}

func function(r ctl.Role) string {
	if r == ctl.RoleSAST {
		return "System Administrator Security Token"
	}
	return r.String()
}

func recordLength(r *ctl.Record) int {
	n := 3*10 + len(r.DNSName) + 1
	if !r.IsPlaceholder() {
		n += len(r.SubjectName) + len(r.IssuerName) + 2 + len(r.SerialNumber) + len(r.PublicKey) + len(r.CertSignature) + len(r.Certificate)
	}
	return n
}

func colonHex(b []byte) string {
	p := make([]string, len(b))
	for i, x := range b {
		p[i] = fmt.Sprintf("%02X", x)
	}
	return strings.Join(p, ":")
}

func spacedHex(b []byte, sep string) string {
	p := make([]string, len(b))
	for i, x := range b {
		p[i] = fmt.Sprintf("%02x", x)
		if sep == " " {
			p[i] = strings.ToUpper(p[i])
		}
	}
	return strings.Join(p, sep)
}

// replication prints `utils dbreplication runtimestate` on the publisher (§2.14).
func (n *Node) replication() string {
	c := n.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if !n.spec.Publisher {
		return replPublisher + "\n"
	}
	if len(c.nodes) == 1 {
		return "Runtime state cannot be performed on a cluster with a single active node; aborting operation\n"
	}
	var b strings.Builder
	b.WriteString("Server Time: Wed Jul 3 09:11:03 CDT 2019\n\nCluster Replication State: Replication status command started at: 2019-07-03-07-54\n")
	b.WriteString("     Replication status command COMPLETED 681 tables checked out of 681\n     Last Completed Table: devicenumplanmapremdestmap\n")
	if c.healthy {
		b.WriteString("     No Errors or Mismatches found.\n")
	} else {
		// Wording of a failed check is [unconfirmed].
		b.WriteString("     Errors or Mismatches Were Found!!!\n")
	}
	fmt.Fprintf(&b, "\nDB Version: ccm%d_%d_%d\nRepltimeout set to: 300s\nPROCESS option set to: 1\n\nCluster Detailed View from %s (%d Servers):\n\n", c.release.Major, c.release.Minor, c.release.Maint, n.spec.Name, len(c.nodes))
	b.WriteString("                                PING      DB/RPC/   REPL.    Replication    REPLICATION SETUP\nSERVER-NAME         IP ADDRESS        (msec)    DbMon?    QUEUE    Group ID       (RTMT) & Details\n-----------         ----------        ------    -------   -----    -----------    ------------------\n")
	for i, m := range c.nodes {
		db, state, detail := "Y/Y/Y", 2, "Setup Completed"
		if !c.healthy && !m.spec.Publisher {
			db, state, detail = "Y/Y/N", 4, "Setup Failed/Dropped"
		}
		fmt.Fprintf(&b, "%-19s %-17s %-9s %-9s %-8d (g_%d)          (%d) %s\n", m.spec.Name, m.spec.IP, "0.013", db, 0, i+2, state, detail)
	}
	return b.String()
}
