package token

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ctlops/ctlops/internal/termsafe"
)

// Listing is the JSON form of `ctlops tokens`; Version changes only when fields change meaning.
type Listing struct {
	Version int    `json:"version"`
	Module  string `json:"module"`
	Tokens  []Info `json:"tokens"`
}

// WriteText renders a listing for people: one block per token, its flags in words, and one
// block per certificate. now marks expired or not-yet-valid certificates. Everything a token
// reports (serial, manufacturer, model, its certificates' names) is its own words, so the
// text goes through the terminal filter.
func WriteText(w io.Writer, module string, infos []Info, now time.Time) error {
	var b strings.Builder
	fmt.Fprintf(&b, "PKCS#11 module %s\n", module)
	n := 0
	for _, i := range infos {
		if i.Flags.Initialized {
			n++
		}
	}
	switch n {
	case 0:
		b.WriteString("no initialised security token is present\n")
	case 1:
		b.WriteString("1 security token present\n")
	default:
		fmt.Fprintf(&b, "%d security tokens present (insert one at a time when signing, R20)\n", n)
	}
	for _, i := range infos {
		b.WriteString("\n")
		if !i.Flags.Initialized {
			fmt.Fprintf(&b, "slot %d: uninitialised token (%s %s), ignored\n", i.Slot, i.Manufacturer, i.Model)
			continue
		}
		fmt.Fprintf(&b, "token %q\n", i.Label)
		fmt.Fprintf(&b, "  serial:        %s\n", i.Serial)
		fmt.Fprintf(&b, "  manufacturer:  %s\n", i.Manufacturer)
		fmt.Fprintf(&b, "  model:         %s\n", i.Model)
		fmt.Fprintf(&b, "  flags:         %s\n", strings.Join(i.Flags.Strings(), ", "))
		if wn := i.Flags.PINWarning(); wn != "" {
			fmt.Fprintf(&b, "  WARNING:       %s\n", wn)
		}
		if i.Error != "" {
			fmt.Fprintf(&b, "  error:         %s\n", i.Error)
		}
		if len(i.Certificates) == 0 {
			b.WriteString("  certificates:  none\n")
		}
		for _, c := range i.Certificates {
			fmt.Fprintf(&b, "  certificate %q (id %s)\n", c.Label, c.ID)
			if c.ParseError != "" {
				fmt.Fprintf(&b, "    unreadable:  %s\n", c.ParseError)
			} else {
				fmt.Fprintf(&b, "    subject:     %s\n", c.Subject)
				fmt.Fprintf(&b, "    issuer:      %s\n", c.Issuer)
				fmt.Fprintf(&b, "    serial:      %s\n", c.Serial)
				validity := fmt.Sprintf("%s to %s", c.NotBefore.Format(time.RFC3339), c.NotAfter.Format(time.RFC3339))
				switch {
				case now.After(c.NotAfter):
					validity += " (EXPIRED)"
				case now.Before(c.NotBefore):
					validity += " (NOT YET VALID)"
				}
				fmt.Fprintf(&b, "    valid:       %s\n", validity)
			}
			fmt.Fprintf(&b, "    sha256:      %s\n", c.SHA256)
			key := string(c.PrivateKey)
			switch c.PrivateKey {
			case KeyUnknown:
				key = "unknown (private objects are hidden until login; use --token-label/--token-serial with a PIN to check)"
			case KeyAbsent:
				key = "no (this certificate cannot sign)"
			}
			fmt.Fprintf(&b, "    private key: %s\n", key)
		}
	}
	_, err := io.WriteString(w, termsafe.String(b.String()))
	return err
}
