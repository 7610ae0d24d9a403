package token

import (
	"encoding/pem"
	"fmt"
	"strings"
)

// ExportCert returns the certificate on the token labelled label, as PEM, so that a spec can
// name it (tokens: certificate:). Certificates are public objects: no login, no PIN. The
// token is chosen as for signing (R20, Choose); when it holds several certificates, certLabel
// (the certificate object's CKA_LABEL) picks one, and without it the error lists them rather
// than guess.
func ExportCert(modulePath, label, certLabel string) ([]byte, CertInfo, error) {
	if label == "" {
		return nil, CertInfo{}, fmt.Errorf("--export-cert needs the token's label")
	}
	infos, err := List(modulePath)
	if err != nil {
		return nil, CertInfo{}, err
	}
	tk, err := Choose(infos, Selection{Label: label})
	if err != nil {
		return nil, CertInfo{}, err
	}
	if tk.Error != "" {
		return nil, CertInfo{}, fmt.Errorf("token %s: %s", tk.Name(), tk.Error)
	}
	var found []CertInfo
	for _, c := range tk.Certificates {
		if c.Certificate != nil && (certLabel == "" || c.Label == certLabel) {
			found = append(found, c)
		}
	}
	switch {
	case len(found) == 1:
		c := found[0]
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate.Raw}), c, nil
	case len(found) == 0 && certLabel != "":
		return nil, CertInfo{}, fmt.Errorf("token %s holds no certificate labelled %q%s", tk.Name(), certLabel, certList(tk.Certificates))
	case len(found) == 0:
		return nil, CertInfo{}, fmt.Errorf("token %s holds no readable certificate", tk.Name())
	}
	return nil, CertInfo{}, fmt.Errorf("token %s holds %d certificates: pick one with --cert-label%s", tk.Name(), len(found), certList(found))
}

func certList(cs []CertInfo) string {
	if len(cs) == 0 {
		return ""
	}
	var parts []string
	for _, c := range cs {
		parts = append(parts, fmt.Sprintf("%q (%s, sha256 %s)", c.Label, c.Subject, c.SHA256))
	}
	return "; it holds: " + strings.Join(parts, ", ")
}
