package platform

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// ShowCTL is the parsed `show ctl` (§2.3). Present is false when the node has no CTL file
// ("Length of CTL file: 0 CTL File not found").
type ShowCTL struct {
	Present      bool         `json:"present"`
	MD5          string       `json:"md5,omitempty"`
	SHA1         string       `json:"sha1,omitempty"`
	Length       int          `json:"length"`
	Modified     string       `json:"modified,omitempty"`
	Version      string       `json:"version,omitempty"`
	HeaderLength int          `json:"headerLength,omitempty"`
	SignerName   string       `json:"signerName,omitempty"`
	SignerSerial string       `json:"signerSerial,omitempty"`
	SignerIssuer string       `json:"signerIssuer,omitempty"`
	Records      []ShowRecord `json:"records"`
	Verified     bool         `json:"verified"`
}

// ShowRecord is one "CTL Record #:n" block. Function is CUCM's word ("System Administrator
// Security Token", "CCM+TFTP", "CAPF"); CertSHA1 is the SHA-1 of the DER that CUCM prints in
// place of the certificate; SignedFile is set on SAST records ("This etoken was (not) used").
type ShowRecord struct {
	Number      int      `json:"number"`
	Length      int      `json:"length"`
	DNSName     string   `json:"dnsName"`
	SubjectName string   `json:"subjectName,omitempty"`
	Function    string   `json:"function"`
	IssuerName  string   `json:"issuerName,omitempty"`
	Serial      string   `json:"serial,omitempty"`
	CertSHA1    string   `json:"certSHA1,omitempty"`
	IPAddress   string   `json:"ipAddress,omitempty"`
	SignedFile  *bool    `json:"signedFile,omitempty"`
	Tags        []string `json:"tags"`
}

const cmdShowCTL = "show ctl"

var (
	headerTags = map[string]bool{"SIGNERID": true, "SIGNERNAME": true, "SERIALNUMBER": true, "CANAME": true,
		"SIGNATUREINFO": true, "DIGESTALGORTITHM": true, "SIGNATUREALGOINFO": true, "SIGNATUREALGORTITHM": true,
		"SIGNATUREMODULUS": true, "SIGNATURE": true, "FILENAME": true, "TIMESTAMP": true, "SIGNERVERSION": true}
	recordTags = map[string]bool{"RECORDLENGTH": true, "DNSNAME": true, "SUBJECTNAME": true, "FUNCTION": true,
		"ISSUERNAME": true, "SERIALNUMBER": true, "PUBLICKEY": true, "SIGNATURE": true, "CERTIFICATE": true, "IPADDRESS": true}
	// Functions `show ctl` prints (§3.2). "CCM", "TFTP" and "TVS" follow the role names of
	// ctl.Role; their exact CLI spelling is [unconfirmed].
	functions = map[string]bool{"System Administrator Security Token": true, "CCM+TFTP": true, "CAPF": true,
		"CCM": true, "TFTP": true, "TVS": true}
	checksumRE = regexp.MustCompile(`^The checksum value of the CTL file: ([0-9a-fA-F]{32})\(MD5\) ([0-9a-fA-F]{40})\(SHA1\) `)
	certHashRE = regexp.MustCompile(`^((?:[0-9A-Fa-f]{2} ){19}[0-9A-Fa-f]{2}) \(SHA1 Hash HEX\)$`)
	serialRE   = regexp.MustCompile(`^[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2})*$`)
)

const (
	usedToSign    = "This etoken was used to sign the CTL file."
	notUsedToSign = "This etoken was not used to sign the CTL file."
	verifiedOK    = "The CTL file was verified successfully."
	notFound1     = "CTL File not found . Please run CTLClient plugin or run the CLI - utils ctl.. to generate the CTL file."
	notFound2     = "CTL File not found. Please run CTLClient plugin or run the CLI - utils ctl.. to generate the CTL file."
	parseError    = "Error parsing the CTL File."
)

// ParseShowCTL parses `show ctl`. Every field must be one of the tags CUCM prints, every
// value must have the shape CUCM gives it, and the answer must end with "The CTL file was
// verified successfully."; anything else is an error quoting it.
func ParseShowCTL(out string) (*ShowCTL, error) {
	s := stripEcho(Flat(out), cmdShowCTL)
	r := &ShowCTL{Records: []ShowRecord{}}
	if m := checksumRE.FindStringSubmatch(s + " "); m != nil {
		r.MD5, r.SHA1 = strings.ToLower(m[1]), strings.ToLower(m[2])
		s = strings.TrimSpace(s[len(m[0])-1:])
	}
	const lenLabel = "Length of CTL file: "
	if !strings.HasPrefix(s, lenLabel) {
		return nil, unknown(cmdShowCTL, "expected 'Length of CTL file:'", s)
	}
	s = s[len(lenLabel):]
	n, rest, _ := strings.Cut(s, " ")
	l, err := strconv.Atoi(n)
	if err != nil || l < 0 {
		return nil, unknown(cmdShowCTL, "length is not a number", s)
	}
	r.Length = l
	s = strings.TrimSpace(rest)
	if l == 0 {
		if left := removeSentences(s, notFound1, notFound2, parseError); left != "" || r.MD5 != "" {
			return nil, unknown(cmdShowCTL, "unexpected text for a missing CTL", s)
		}
		return r, nil
	}
	r.Present = true
	if r.MD5 == "" {
		return nil, unknown(cmdShowCTL, "CTL present but no checksum line", s)
	}
	const modLabel = "The CTL File was last modified on "
	if strings.HasPrefix(s, modLabel) {
		date, after, ok := strings.Cut(s[len(modLabel):], " Parse CTL File ")
		if !ok {
			return nil, unknown(cmdShowCTL, "expected 'Parse CTL File' after the date", s)
		}
		r.Modified, s = date, "Parse CTL File "+after
	}
	tok := strings.Fields(s)
	want := []string{"Parse", "CTL", "File", "----------------", "Version:"}
	if len(tok) < 9 || strings.Join(tok[:5], " ") != strings.Join(want, " ") {
		return nil, unknown(cmdShowCTL, "expected 'Parse CTL File ---------------- Version:'", s)
	}
	r.Version = tok[5]
	if tok[6] != "HeaderLength:" || tok[8] != "(BYTES)" {
		return nil, unknown(cmdShowCTL, "expected 'HeaderLength: n (BYTES)'", s)
	}
	if r.HeaderLength, err = strconv.Atoi(tok[7]); err != nil {
		return nil, unknown(cmdShowCTL, "header length is not a number", s)
	}
	tok = tok[9:]
	blocks := splitBlocks(tok)
	hdr, err := fields(blocks[0], headerTags)
	if err != nil {
		return nil, err
	}
	for _, f := range hdr {
		switch f.tag {
		case "SIGNERNAME":
			r.SignerName = f.value
		case "SERIALNUMBER":
			r.SignerSerial = strings.ToLower(strings.ReplaceAll(f.value, ":", ""))
		case "CANAME":
			r.SignerIssuer = f.value
		}
	}
	if len(blocks) == 1 {
		return nil, unknown(cmdShowCTL, "CTL without records", s)
	}
	if r.Records, r.Verified, err = records(blocks[1:]); err != nil {
		return nil, err
	}
	if !r.Verified {
		return nil, unknown(cmdShowCTL, "CUCM did not say 'The CTL file was verified successfully.'", s[max(0, len(s)-200):])
	}
	return r, nil
}

// splitBlocks splits tokens into what precedes the first "CTL Record #:n" and one block per
// record, each starting with its "CTL Record #:n" tokens.
func splitBlocks(tok []string) [][]string {
	var blocks [][]string
	cur := []string{}
	for i := 0; i < len(tok); i++ {
		if tok[i] == "CTL" && i+1 < len(tok) && strings.HasPrefix(tok[i+1], "Record") {
			blocks = append(blocks, cur)
			cur = []string{tok[i], tok[i+1]}
			if tok[i+1] == "Record" && i+2 < len(tok) {
				cur = append(cur, tok[i+2])
				i++
			}
			i++
			continue
		}
		cur = append(cur, tok[i])
	}
	return append(blocks, cur)
}

// records parses record blocks in order; the last carries CUCM's verdict.
func records(blocks [][]string) ([]ShowRecord, bool, error) {
	out := []ShowRecord{}
	verified := false
	for bi, b := range blocks {
		rec, tail, err := record(b, bi == len(blocks)-1)
		if err != nil {
			return nil, false, err
		}
		if len(out) > 0 && rec.Number <= out[len(out)-1].Number {
			return nil, false, unknown(cmdShowCTL, "record numbers do not increase", strings.Join(b, " "))
		}
		verified = verified || tail
		out = append(out, rec)
	}
	return out, verified, nil
}

type field struct {
	tag, value string
}

// fields splits "N TAG LEN [VALUE…]" runs. A field starts where a number is followed by a
// known tag name and a number; its value runs to the next field start.
func fields(tok []string, known map[string]bool) ([]field, error) {
	var out []field
	isStart := func(i int) bool {
		if i+2 >= len(tok) {
			return false
		}
		if _, err := strconv.Atoi(tok[i]); err != nil {
			return false
		}
		if !known[tok[i+1]] {
			return false
		}
		_, err := strconv.Atoi(tok[i+2])
		return err == nil
	}
	// The column heading precedes the fields.
	head := []string{"BYTEPOS", "TAG", "LENGTH", "VALUE", "-------", "---", "------", "-----"}
	if len(tok) < len(head) || strings.Join(tok[:len(head)], " ") != strings.Join(head, " ") {
		return nil, unknown(cmdShowCTL, "expected the 'BYTEPOS TAG LENGTH VALUE' heading", strings.Join(tok, " "))
	}
	tok = tok[len(head):]
	if len(tok) > 0 && !isStart(0) {
		return nil, unknown(cmdShowCTL, "expected a field", strings.Join(tok, " "))
	}
	for i := 0; i < len(tok); {
		j := i + 3
		for j < len(tok) && !isStart(j) {
			j++
		}
		out = append(out, field{tag: tok[i+1], value: strings.Join(tok[i+3:j], " ")})
		i = j
	}
	return out, nil
}

// record parses one "CTL Record #:n ---- …" block; final says whether it is the last block,
// which carries CUCM's verdict.
func record(b []string, final bool) (ShowRecord, bool, error) {
	var rec ShowRecord
	head := strings.Join(b[:min(len(b), 3)], " ")
	var numTok string
	switch {
	case len(b) >= 3 && b[1] == "Record" && strings.HasPrefix(b[2], "#:"):
		numTok, b = strings.TrimPrefix(b[2], "#:"), b[3:]
	case len(b) >= 2 && strings.HasPrefix(b[1], "Record#:"):
		numTok, b = strings.TrimPrefix(b[1], "Record#:"), b[2:]
	default:
		return rec, false, unknown(cmdShowCTL, "expected 'CTL Record #:n'", head)
	}
	n, err := strconv.Atoi(numTok)
	if err != nil || n < 1 {
		return rec, false, unknown(cmdShowCTL, "record number", head)
	}
	rec.Number = n
	if len(b) == 0 || strings.Trim(b[0], "-") != "" {
		return rec, false, unknown(cmdShowCTL, "expected '----' under the record number", strings.Join(b, " "))
	}
	fs, err := fields(b[1:], recordTags)
	if err != nil {
		return rec, false, err
	}
	if len(fs) == 0 {
		return rec, false, unknown(cmdShowCTL, "record without fields", strings.Join(b, " "))
	}
	verified := false
	// The sentences CUCM appends after the last field of a record.
	lastVal := &fs[len(fs)-1].value
	for _, tail := range []string{verifiedOK, usedToSign, notUsedToSign} {
		if tail == verifiedOK && !final {
			continue
		}
		if strings.HasSuffix(*lastVal, tail) {
			*lastVal = strings.TrimSpace(strings.TrimSuffix(*lastVal, tail))
			switch tail {
			case verifiedOK:
				verified = true
			case usedToSign:
				rec.SignedFile = ptr(true)
			case notUsedToSign:
				rec.SignedFile = ptr(false)
			}
		}
	}
	for _, f := range fs {
		rec.Tags = append(rec.Tags, f.tag)
		v := f.value
		bad := func(why string) error {
			return unknown(cmdShowCTL, "record "+strconv.Itoa(n)+" "+f.tag+": "+why, v)
		}
		switch f.tag {
		case "RECORDLENGTH":
			if rec.Length, err = strconv.Atoi(v); err != nil {
				return rec, false, bad("not a number")
			}
		case "DNSNAME":
			if strings.Contains(v, " ") {
				return rec, false, bad("not one name")
			}
			rec.DNSName = v
		case "SUBJECTNAME":
			rec.SubjectName = v
		case "ISSUERNAME":
			rec.IssuerName = v
		case "FUNCTION":
			if !functions[v] {
				return rec, false, bad("unknown function")
			}
			rec.Function = v
		case "SERIALNUMBER":
			if v != "" && !serialRE.MatchString(v) {
				return rec, false, bad("not a serial number")
			}
			rec.Serial = strings.ToLower(strings.ReplaceAll(v, ":", ""))
		case "PUBLICKEY", "SIGNATURE":
			if v != "" {
				return rec, false, bad("unexpected value")
			}
		case "CERTIFICATE":
			m := certHashRE.FindStringSubmatch(v)
			if m == nil {
				return rec, false, bad("expected a SHA-1 hash '(SHA1 Hash HEX)'")
			}
			rec.CertSHA1 = strings.ToLower(strings.ReplaceAll(m[1], " ", ""))
		case "IPADDRESS":
			if v != "" {
				if _, err := netip.ParseAddr(v); err != nil {
					return rec, false, bad("unexpected text")
				}
				rec.IPAddress = v
			}
		}
	}
	if rec.Function == "" {
		return rec, false, unknown(cmdShowCTL, "record "+strconv.Itoa(n)+" has no FUNCTION", strings.Join(b, " "))
	}
	return rec, verified, nil
}

func ptr[T any](v T) *T { return &v }
