package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/internal/termsafe"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/token"
)

// Before the question: which token will be asked for, and whether it may sign at all. A
// token phones do not trust for this plan (one being retired, one the installed CTL does not
// list) used to be found only after "yes", the locks and the PIN, as an R19 error; now it
// is refused here, where nothing is locked, with the tokens that would do.

// previewSigner asks PreviewSigner about the clusters whose file will be signed and prints
// its answer; an error stops the apply before the question.
func (o *Options) previewSigner(ctx context.Context, p *plan.Plan) error {
	if o.PreviewSigner == nil {
		return nil
	}
	var works []*work
	for _, c := range p.Clusters {
		// A tokenless cluster is signed by CUCM itself (apply/tokenless.go): no token to preview.
		if !c.Summary.Changes || o.skipped[c.Name] || isTokenlessPlan(c) {
			continue
		}
		sc := o.Config.Cluster(c.Name)
		if sc == nil {
			continue
		}
		if len(c.Actions) > 0 || c.Live == nil || c.Live.Digest == "" {
			works = append(works, &work{c: c, spec: sc})
		}
	}
	if len(works) == 0 {
		return nil
	}
	req, err := signerRequest(works)
	if err != nil {
		return err
	}
	say, err := o.PreviewSigner(ctx, req)
	if err != nil {
		return fmt.Errorf("%w; nothing was locked or written", err)
	}
	if say != "" {
		fmt.Fprintf(o.Out, "\n%s\n", say)
	}
	return nil
}

// TokenPreview looks, without a PIN, at the signer TokenOpener would open: the lab key's
// certificate, or the inserted token that would be chosen (R20) and the certificates it shows
// before login. It refuses when none of them is a token that may sign the plan (R19).
func TokenPreview(t TokenOptions) func(context.Context, SignerRequest) (string, error) {
	return func(ctx context.Context, req SignerRequest) (string, error) {
		r, err := t.resolve(req.SignWith)
		if err != nil {
			return "", err
		}
		if r.software != nil {
			if r.software.Cert == nil {
				return "", nil // the spec already said the certificate is unreadable
			}
			fp := ctl.Fingerprint(r.software.Cert.Raw)
			if !trusted(req.Trusted, fp) {
				return "", mayNotSign(fmt.Sprintf("the lab key's certificate %s (sha256 %s)", ctl.NameString(r.software.Cert.Subject), fp), req)
			}
			return fmt.Sprintf("Signing with the lab key file %s: its certificate %s is a token phones already trust (R19).", r.software.KeyFile, ctl.NameString(r.software.Cert.Subject)), nil
		}
		present, err := token.List(r.module)
		if err != nil {
			return "", err
		}
		tok, err := token.Choose(present, r.sel)
		var se *token.SelectError
		if errors.As(err, &se) && se.Err == token.ErrSeveralTokens && r.sel == (token.Selection{}) && r.ask {
			var good []string
			for _, i := range se.Present {
				if c := trustedCert(i, req); c != nil {
					good = append(good, i.Name())
				}
			}
			if len(good) == 0 {
				return "", mayNotSign("none of the inserted tokens", req)
			}
			return fmt.Sprintf("Several security tokens are inserted: you will be asked which one signs (R20). Of them, these may sign this plan (R19): %s.", termsafe.Line(strings.Join(good, ", "))), nil
		}
		if err != nil {
			return "", err
		}
		if len(tok.Certificates) == 0 {
			return fmt.Sprintf("Signing will ask for the PIN of token %s (it shows no certificate before login: which key signs is checked after the PIN).", termsafe.Line(tok.Name())), nil
		}
		c := trustedCert(tok, req)
		if c == nil {
			var shown []string
			for _, ci := range tok.Certificates {
				shown = append(shown, fmt.Sprintf("%s (sha256 %s)", ci.Subject, ci.SHA256))
			}
			return "", mayNotSign(fmt.Sprintf("token %s, whose certificates are %s,", tok.Name(), strings.Join(shown, "; ")), req)
		}
		return fmt.Sprintf("Signing will ask for the PIN of token %s: its certificate %s (sha256 %s) is a token phones already trust (R19).",
			termsafe.Line(tok.Name()), termsafe.Line(c.Subject), c.SHA256), nil
	}
}

// trustedCert is the first certificate of tok that may sign for req, nil when none.
func trustedCert(tok token.Info, req SignerRequest) *token.CertInfo {
	for i := range tok.Certificates {
		if c := &tok.Certificates[i]; c.Certificate != nil && trusted(req.Trusted, c.SHA256) {
			return c
		}
	}
	return nil
}

// mayNotSign is the refusal: who would be asked, and the tokens that would do.
func mayNotSign(who string, req SignerRequest) error {
	return fmt.Errorf("%s cannot sign for %s: a token must be declared in the spec and be a SAST record of the installed CTL (R19); one being retired cannot sign the file that removes it. Tokens that may sign: %s. Insert one of them, or name it with --token-label/--token-serial",
		termsafe.Line(who), strings.Join(req.Clusters, ", "), signerList(req.Trusted))
}
