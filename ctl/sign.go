package ctl

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// SameSerial compares two raw serial numbers as unsigned integers, because producers disagree
// on a leading 0x00 (§3.3).
func SameSerial(a, b []byte) bool {
	return bytes.Equal(bytes.TrimLeft(a, "\x00"), bytes.TrimLeft(b, "\x00"))
}

// SignerRecord returns the index of the SAST record that signed the file, or -1. The header
// names its signer by serial (§2.5); since two tokens can share a serial (self-made
// certificates often have serial 1), a record whose subject and issuer also match the header's
// signer name and issuer wins, then any record with that serial and a certificate.
func (f *File) SignerRecord() int {
	h := &f.Header
	best, bestScore := -1, -1
	for i := range f.Records {
		r := &f.Records[i]
		if r.Role != RoleSAST || len(h.SignerSerial) == 0 || !SameSerial(r.SerialNumber, h.SignerSerial) {
			continue
		}
		score := 0
		if len(r.Certificate) > 0 {
			score++
		}
		if r.SubjectName == h.SignerName && r.IssuerName == h.SignerIssuer {
			score += 2
		}
		if score > bestScore {
			best, bestScore = i, score
		}
	}
	return best
}

// Verify checks the header signature against the signer's SAST record (§2.5, §4), then that
// every record agrees with its own certificate (CheckRecords: a record must not name one
// identity and carry another's). RSA keys under 1024 bits are refused by Go since 1.24; the
// error says so instead of a bare "insecure".
//
// A parsed file that is still what was read is verified over the bytes read, hashing the two
// spans around the SIGNATURE TLV in place; a file changed since (or built) is encoded first.
// The signer's key is parsed once per record and cached.
func (f *File) Verify() error {
	if err := f.verifySignature(); err != nil {
		return err
	}
	return f.CheckRecords()
}

func (f *File) verifySignature() error {
	h := &f.Header
	if h.Signature == nil {
		return errors.New("file is not signed: no SIGNATURE (tag 12)")
	}
	i := f.SignerRecord()
	if i < 0 {
		return fmt.Errorf("no SAST record has the header's signer serial %s (signer %q)", hexSerial(h.SignerSerial), h.SignerName)
	}
	key, err := f.Records[i].publicKey()
	if err != nil {
		return fmt.Errorf("signer: %w", err)
	}
	hash, err := h.HashAlgorithm.CryptoHash()
	if err != nil {
		return err
	}
	if int(h.ModulusIndex) >= len(modulusBytes) || modulusBytes[h.ModulusIndex] != len(h.Signature) {
		return fmt.Errorf("SIGNATURE_MODULUS %d does not match a %d-byte signature", h.ModulusIndex, len(h.Signature))
	}
	if key.Size() != len(h.Signature) {
		return fmt.Errorf("signature is %d bytes but the signer's key (record %d) is %d-bit", len(h.Signature), i+1, key.N.BitLen())
	}
	d := hash.New()
	if f.unchanged() {
		d.Write(f.raw[:f.sigOff])
		d.Write(f.raw[f.sigOff+3+len(h.Signature):])
	} else {
		signed, err := f.SignedBytes()
		if err != nil {
			return err
		}
		d.Write(signed)
	}
	var sum [64]byte
	if err := rsa.VerifyPKCS1v15(key, hash, d.Sum(sum[:0]), h.Signature); err != nil {
		if key.N.BitLen() < 1024 {
			return fmt.Errorf("signer key is %d-bit: Go refuses RSA keys under 1024 bits (GODEBUG=rsa1024min=0 lifts that): %w", key.N.BitLen(), err)
		}
		return fmt.Errorf("signature does not verify against record %d (%s): the file was changed after signing or signed by another key", i+1, f.Records[i].Identity())
	}
	return nil
}

// Sign signs the file with an RSA key and its certificate, which become the header's signer
// (§2.5). The signer's SAST record must be in the file for phones to verify it; Sign checks that
// and verifies its own signature in software before returning, so a faulty token cannot hand
// back a file that phones would reject.
func (f *File) Sign(s crypto.Signer, cert *x509.Certificate, h HashAlgorithm, now time.Time) error {
	pub, ok := s.Public().(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("signing key is %T: CTL files are signed with RSA (§2.5)", s.Public())
	}
	if cpub, ok := cert.PublicKey.(*rsa.PublicKey); !ok || !cpub.Equal(pub) {
		return errors.New("signing key does not belong to the signer certificate")
	}
	hash, err := h.CryptoHash()
	if err != nil {
		return err
	}
	mi, ok := modulusIndex(pub.Size())
	if !ok {
		return fmt.Errorf("signing key is %d-bit; the format knows 512, 1024, 2048 and 4096", pub.N.BitLen())
	}
	if cert.SerialNumber == nil || cert.SerialNumber.Sign() < 0 {
		return errors.New("signer certificate has no positive serial number")
	}
	hd := &f.Header
	hd.SignerName = NameString(cert.Subject)
	hd.SignerSerial = cert.SerialNumber.Bytes()
	hd.SignerIssuer = NameString(cert.Issuer)
	hd.HashAlgorithm = h
	hd.SignatureAlgorithm = 0
	hd.ModulusIndex = mi
	hd.Timestamp = now.UTC().Truncate(time.Second)
	hd.Signature = make([]byte, pub.Size()) // placeholder so HEADER_LENGTH counts it
	if hd.layout != nil {
		hd.relayoutForSigning()
	}
	if i := f.SignerRecord(); i < 0 {
		return fmt.Errorf("the file holds no SAST record for the signer %q serial %s: phones could not verify it (R19)", hd.SignerName, hexSerial(hd.SignerSerial))
	}
	signed, err := f.SignedBytes()
	if err != nil {
		return err
	}
	d := hash.New()
	d.Write(signed)
	sig, err := s.Sign(rand.Reader, d.Sum(nil), hash)
	if err != nil {
		return fmt.Errorf("signing: %w", err)
	}
	if len(sig) != pub.Size() {
		return fmt.Errorf("signer returned %d bytes for a %d-bit key", len(sig), pub.N.BitLen())
	}
	hd.Signature = sig
	if err := f.Verify(); err != nil {
		return fmt.Errorf("the new signature does not verify: %w", err)
	}
	return nil
}

// relayoutForSigning keeps a parsed header's order but makes room for a signature and lets
// Marshal recompute the padding, since the signer's name and serial change the header's size.
func (h *Header) relayoutForSigning() {
	l := make([]slot, 0, len(h.layout)+1)
	hasSig := false
	for _, s := range h.layout {
		if s.tag == hPadding {
			continue
		}
		hasSig = hasSig || s.tag == hSignature
		l = append(l, s)
	}
	if !hasSig {
		for i, s := range l {
			if s.tag == hModulus {
				l = append(l[:i+1], append([]slot{{tag: hSignature}}, l[i+1:]...)...)
				hasSig = true
				break
			}
		}
		if !hasSig {
			l = append(l, slot{tag: hSignature})
		}
	}
	// Spans counted padding slots inside containers; recount them.
	for i, s := range l {
		if s.span > 0 {
			n, want := 0, containerMembers[s.tag]
			for _, t := range l[i+1:] {
				if !slices.Contains(want, t.tag) {
					break
				}
				n++
			}
			l[i].span = uint16(n)
		}
	}
	h.layout = l
	h.autoPad = true
}

// containerMembers lists the tags each header container may enclose (§2.1).
var containerMembers = map[uint8][]uint8{
	hSignerInfo:    {hSignerName, hSignerSerial, hSignerIssuer},
	hSignatureInfo: {hHashAlgorithm, hSigAlgoInfo, hSigAlgorithm, hModulus},
	hSigAlgoInfo:   {hSigAlgorithm, hModulus},
}

// TrustError explains why phones holding one file would reject another (R19).
type TrustError struct {
	Reason string
}

func (e *TrustError) Error() string { return e.Reason }

// Accepts reports whether a phone that holds installed would accept next: next must verify,
// and its signer must be a SAST record of installed, compared by certificate (R19). A phone
// with no file (installed == nil) accepts any file that verifies (trust on first use).
func Accepts(installed, next *File) error {
	if err := next.Verify(); err != nil {
		return &TrustError{Reason: "the new file's signature does not verify: " + err.Error()}
	}
	if installed == nil {
		return nil
	}
	signer := &next.Records[next.SignerRecord()]
	if installed.HasSAST(signer) {
		return nil
	}
	return &TrustError{Reason: fmt.Sprintf(
		"phones holding the installed file would reject the new one: its signer %s is not a SAST record of the installed file (R19); trusted signers: %s",
		signer.Identity(), installed.SASTList())}
}

// SASTList names the file's SAST records, each by Identity, for messages that must tell two
// signers with the same name apart (R19 refusals).
func (f *File) SASTList() string {
	var trusted []string
	for i := range f.Records {
		if r := &f.Records[i]; r.Role == RoleSAST {
			trusted = append(trusted, r.Identity())
		}
	}
	if len(trusted) == 0 {
		return "(none)"
	}
	return strings.Join(trusted, ", ")
}

// Identity names a record so that two different signers never read the same: subject, serial
// and the first 16 hex digits of the certificate's SHA-256 fingerprint (of the PUBLIC_KEY
// when there is no certificate). Two tokens made from one template share subject and serial;
// they never share a fingerprint.
func (r *Record) Identity() string {
	name := r.SubjectName
	if name == "" {
		name = r.DNSName
	}
	fp := "no certificate or key"
	switch {
	case len(r.Certificate) > 0:
		fp = "sha256 " + Fingerprint(r.Certificate)[:16]
	case len(r.PublicKey) > 0:
		fp = "key sha256 " + Fingerprint(r.PublicKey)[:16]
	}
	return fmt.Sprintf("%q serial %s (%s)", name, hexSerial(r.SerialNumber), fp)
}

// HasSAST reports whether r (a record, or one built from a certificate alone) is a SAST
// record of f: the one definition of "phones holding f trust this signer" (R19). Every trust
// check in ctlops, the lab phones' included, goes through it or through Accepts.
func (f *File) HasSAST(r *Record) bool {
	for i := range f.Records {
		if f.Records[i].Role == RoleSAST && SameIdentity(&f.Records[i], r) {
			return true
		}
	}
	return false
}

// SameIdentity compares two records by certificate, or by serial and key when one lacks a
// certificate (eToken records always carry one; this covers hand-made files).
func SameIdentity(a, b *Record) bool {
	if len(a.Certificate) > 0 && len(b.Certificate) > 0 {
		return bytes.Equal(a.Certificate, b.Certificate)
	}
	ka, errA := a.publicKey()
	kb, errB := b.publicKey()
	return errA == nil && errB == nil && ka.Equal(kb) && SameSerial(a.SerialNumber, b.SerialNumber)
}

func hexSerial(b []byte) string {
	if len(b) == 0 {
		return "(none)"
	}
	return fmt.Sprintf("%x", b)
}

// SerialHex renders a raw serial as lower-case hex, the form used in text and JSON.
func SerialHex(b []byte) string { return fmt.Sprintf("%x", b) }
