package drift

import (
	"fmt"
	"io"

	"github.com/ctlops/ctlops/internal/termsafe"
)

// WriteText prints the verdict per cluster with its reasons, for a terminal or a CI log: the
// reasons name the server and the record an operator must look at.
func (r *Result) WriteText(w io.Writer) error {
	var drift, failed int
	for _, c := range r.Clusters {
		switch {
		case c.Error != "":
			failed++
			// The error quotes servers (an inventory's words about a peer): filtered, one line.
			if _, err := fmt.Fprintf(w, "%s: ERROR: %s\n", c.Name, termsafe.Line(c.Error)); err != nil {
				return err
			}
		case c.Drift:
			drift++
			fmt.Fprintf(w, "%s: DRIFT (state %s)\n", c.Name, c.State)
			for _, why := range c.Reasons {
				fmt.Fprintf(w, "  %s\n", why)
			}
		default:
			fmt.Fprintf(w, "%s: in sync\n", c.Name)
		}
		for _, warn := range c.Warnings {
			fmt.Fprintf(w, "  warning: %s\n", warn)
		}
	}
	shard := ""
	if r.Shard != "" {
		shard = " (shard " + r.Shard + ")"
	}
	var err error
	switch {
	case len(r.Clusters) == 0:
		_, err = fmt.Fprintf(w, "No cluster to check%s.\n", shard)
	case drift == 0 && failed == 0:
		_, err = fmt.Fprintf(w, "No drift in %d cluster(s)%s.\n", len(r.Clusters), shard)
	default:
		_, err = fmt.Fprintf(w, "Drift in %d of %d cluster(s), %d could not be checked%s.\n", drift, len(r.Clusters), failed, shard)
	}
	return err
}
