package apply

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/phonerules"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/spec"
)

// Step 4: decide, sign and check each cluster's file before anything is written.

// prepare decides each cluster's file, signs what must be signed and checks every file as
// phones would, before anything is written anywhere.
func (o *Options) prepare(ctx context.Context, works []*work, res *Result) error {
	var toSign []*work
	for _, w := range works {
		// Records unchanged: bring the laggards in line with the file the others hold, as it
		// is; nothing to sign and the servers already right are not touched.
		if len(w.c.Actions) == 0 && w.c.Live != nil && w.c.Live.Digest != "" {
			for _, t := range w.targets {
				if t.digest == w.c.Live.Digest {
					w.data = t.cur
					break
				}
			}
		}
		if w.data == nil && w.c.Desired != nil && len(w.c.Desired.Data) > 0 {
			w.sign = true
			toSign = append(toSign, w)
		}
	}
	if len(toSign) > 0 {
		if err := o.signAll(ctx, toSign, res); err != nil {
			return err
		}
	}
	for _, w := range works {
		if w.data == nil {
			continue
		}
		next, err := ctl.Parse(w.data)
		if err != nil {
			return fmt.Errorf("cluster %s: the file to push does not parse: %v", w.c.Name, err)
		}
		// The plan's promise, checked again on the signed file: every phone model of the
		// cluster holding the server's file takes the new one (phonerules, which wraps
		// ctl.Accepts' R19 with the models' limits).
		models, err := phonerules.Models(w.spec.PhoneModels)
		if err != nil {
			return fmt.Errorf("cluster %s: phoneModels: %v", w.c.Name, err)
		}
		for _, t := range w.targets {
			if t.file == nil || t.digest == provider.ETag(w.data) {
				continue
			}
			if err := phonerules.Refusal(phonerules.Verdicts(t.file, next, models...)); err != nil {
				return fmt.Errorf("cluster %s: server %s: %v; nothing was written", w.c.Name, t.ts.Server, err)
			}
		}
		w.res.Digest = provider.ETag(w.data)
		w.res.Signed = w.sign
	}
	return nil
}

// signerRequest is what the signer must sign for: works' clusters, their (common) signWith and
// the declared tokens phones already trust (R19).
func signerRequest(works []*work) (SignerRequest, error) {
	req := SignerRequest{SignWith: works[0].spec.SignWith}
	seen := map[string]bool{}
	for _, w := range works {
		req.Clusters = append(req.Clusters, w.c.Name)
		if signWithKey(w.spec.SignWith) != signWithKey(req.SignWith) {
			return req, fmt.Errorf("clusters %s and %s declare different signWith: apply them one at a time with --cluster", works[0].c.Name, w.c.Name)
		}
		for _, s := range w.c.Signers {
			if !seen[s.CertificateSHA256] {
				seen[s.CertificateSHA256] = true
				req.Trusted = append(req.Trusted, s)
			}
		}
	}
	return req, nil
}

// checkSigner runs CheckSigner before the locks for the clusters whose records change, the
// ones that will need a signature (laggards alone get the file the others hold).
func (o *Options) checkSigner(works []*work) error {
	if o.CheckSigner == nil {
		return nil
	}
	var signing []*work
	for _, w := range works {
		if len(w.c.Actions) > 0 || w.c.Live == nil || w.c.Live.Digest == "" {
			signing = append(signing, w)
		}
	}
	if len(signing) == 0 {
		return nil
	}
	req, err := signerRequest(signing)
	if err != nil {
		return err
	}
	return o.CheckSigner(req)
}

// signAll opens the signer once (R20: one token at a time) and signs each cluster's file.
func (o *Options) signAll(ctx context.Context, works []*work, res *Result) error {
	if o.OpenSigner == nil {
		return errors.New("a file must be signed but no signer is configured")
	}
	req, err := signerRequest(works)
	if err != nil {
		return err
	}
	s, err := o.OpenSigner(ctx, req)
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("stopped before signing; nothing was written and every update lock is released: %w", err)
	}
	if err != nil {
		return err
	}
	defer s.Close()
	cert := s.Certificate()
	fp := ctl.Fingerprint(cert.Raw)
	res.Signer = &SignerInfo{Description: s.Describe(), Subject: ctl.NameString(cert.Subject),
		Serial: ctl.SerialHex(cert.SerialNumber.Bytes()), CertificateSHA256: fp}
	// Expiry is only a warning in the spec and the plan, so that read-only commands work on
	// clusters whose certificates expired long ago; signing is where it is refused. Whether
	// phones check a CTL signer's validity dates is unconfirmed [?]: the safer side is never to
	// hand them a new file signed by an expired certificate.
	if now := o.Now(); now.After(cert.NotAfter) {
		return fmt.Errorf("the token's certificate %s (sha256 %s) expired on %s: ctlops does not sign with an expired certificate; nothing was written. Sign with another declared token, or enrol a new one first",
			ctl.NameString(cert.Subject), fp, cert.NotAfter.UTC().Format("2006-01-02"))
	}
	fmt.Fprintf(o.Out, "Signing with %s\n", s.Describe())
	for _, w := range works {
		if !trusted(w.c.Signers, fp) {
			return fmt.Errorf("cluster %s: the token's certificate %s (sha256 %s) is not a SAST record of the installed CTL (R19), so phones would reject a file it signs; nothing was written. Tokens that would do: %s",
				w.c.Name, ctl.NameString(cert.Subject), fp, signerList(w.c.Signers))
		}
		h, err := o.hash(w)
		if err != nil {
			return err
		}
		f, err := ctl.Parse(w.c.Desired.Data)
		if err != nil {
			return fmt.Errorf("cluster %s: the plan's desired file does not parse: %v", w.c.Name, err)
		}
		// Sign verifies the new signature in software against the certificate.
		if err := f.Sign(s, cert, h, o.Now()); err != nil {
			return fmt.Errorf("cluster %s: %w", w.c.Name, err)
		}
		data, err := f.Marshal()
		if err != nil {
			return fmt.Errorf("cluster %s: %w", w.c.Name, err)
		}
		// What leaves the machine is checked as a phone reads it: parsed from the bytes.
		back, err := ctl.Parse(data)
		if err == nil {
			err = back.Verify()
		}
		if err == nil {
			if i := back.SignerRecord(); i < 0 || !bytes.Equal(back.Records[i].Certificate, cert.Raw) {
				err = errors.New("the signer record is not the token's certificate")
			}
		}
		if err != nil {
			return fmt.Errorf("cluster %s: the signed file fails its own check: %v; nothing was written", w.c.Name, err)
		}
		w.data = data
	}
	return nil
}

func signWithKey(s *spec.SignWith) string {
	switch {
	case s == nil:
		return ""
	case s.Software != nil:
		return "software " + s.Software.KeyFile
	case s.PKCS11 != nil:
		return fmt.Sprintf("pkcs11 %s %s %s", s.PKCS11.Module, s.PKCS11.TokenLabel, s.PKCS11.TokenSerial)
	}
	return ""
}

func trusted(signers []plan.SignerOption, fp string) bool {
	for _, s := range signers {
		if strings.EqualFold(s.CertificateSHA256, fp) {
			return true
		}
	}
	return false
}

func signerList(signers []plan.SignerOption) string {
	if len(signers) == 0 {
		return "none of the declared tokens"
	}
	var out []string
	for _, s := range signers {
		out = append(out, fmt.Sprintf("%s (%s, serial %s, sha256 %s)", s.Token, s.Subject, s.Serial, s.CertificateSHA256))
	}
	return strings.Join(out, "; ")
}

// hash is the spec's signWith.hash, else the installed file's, else SHA-1: every phone knows
// SHA-1, not every phone SHA-256.
func (o *Options) hash(w *work) (ctl.HashAlgorithm, error) {
	if w.spec.SignWith != nil && w.spec.SignWith.Hash != "" {
		h, err := ctl.ParseHashAlgorithm(w.spec.SignWith.Hash)
		if err != nil {
			return 0, fmt.Errorf("cluster %s: signWith.hash: %w", w.c.Name, err)
		}
		return h, nil
	}
	if w.c.Live != nil && w.c.Live.Digest != "" {
		for _, t := range w.targets {
			if t.digest == w.c.Live.Digest && t.file != nil {
				return t.file.Header.HashAlgorithm, nil
			}
		}
	}
	return ctl.SHA1, nil
}
