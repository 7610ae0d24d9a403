package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// dashFlags accepts Terraform's single-dash long flags (-auto-approve, -out=FILE), which are
// common muscle memory: an argument "-NAME" or "-NAME=VALUE" whose NAME is exactly a long flag
// of the command being run becomes "--NAME…". Only exact names are rewritten, never a
// shorthand cluster such as "-f" (pflag's own), and nothing after "--".
func dashFlags(root *cobra.Command, args []string) []string {
	c, _, err := root.Find(args)
	if err != nil || c == nil {
		c = root
	}
	out := make([]string, len(args))
	copy(out, args)
	for i, a := range out {
		if a == "--" {
			break
		}
		if name, ok := singleDashName(a); ok && lookupFlag(c, name) != nil {
			out[i] = "-" + a
		}
	}
	return out
}

// singleDashName returns NAME of "-NAME" or "-NAME=VALUE" when NAME is longer than one letter.
func singleDashName(a string) (string, bool) {
	if !strings.HasPrefix(a, "-") || strings.HasPrefix(a, "--") {
		return "", false
	}
	name, _, _ := strings.Cut(a[1:], "=")
	return name, len(name) > 1
}

func lookupFlag(c *cobra.Command, name string) *pflag.Flag {
	if f := c.Flags().Lookup(name); f != nil {
		return f
	}
	if f := c.InheritedFlags().Lookup(name); f != nil {
		return f
	}
	return c.Root().PersistentFlags().Lookup(name)
}

// flagHint adds "did you mean --NAME" to a flag error: for a single-dash word that is close to a
// long flag (pflag reads "-auto-aprove" as the shorthands a, u, t, …), and for a misspelt
// long flag.
func flagHint(c *cobra.Command, err error) error {
	msg := err.Error()
	var word string
	switch {
	case strings.HasPrefix(msg, "unknown shorthand flag: "):
		// unknown shorthand flag: 'a' in -auto-aprove
		if i := strings.LastIndex(msg, " in "); i >= 0 {
			word = strings.TrimLeft(msg[i+4:], "-")
		}
	case strings.HasPrefix(msg, "unknown flag: --"):
		word = strings.TrimPrefix(msg, "unknown flag: --")
	default:
		return err
	}
	word, _, _ = strings.Cut(word, "=")
	if best := closestFlag(c, word); best != "" {
		return fmt.Errorf("%w; did you mean --%s?", err, best)
	}
	if strings.HasPrefix(msg, "unknown shorthand flag: ") && len(word) > 1 {
		return fmt.Errorf("unknown flag -%s: %s has no flag --%s (see %s --help)", word, c.CommandPath(), word, c.CommandPath())
	}
	return err
}

// closestFlag returns the long flag of c nearest to word (edit distance at most 2, or word a
// prefix of it), "" when none is close.
func closestFlag(c *cobra.Command, word string) string {
	best, bestD := "", 3
	visit := func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		d := distance(word, f.Name)
		if strings.HasPrefix(f.Name, word) && len(word) >= 3 {
			d = min(d, 1)
		}
		if d < bestD || (d == bestD && f.Name < best) {
			best, bestD = f.Name, d
		}
	}
	c.Flags().VisitAll(visit)
	c.InheritedFlags().VisitAll(visit)
	return best
}

// distance is the Levenshtein distance of a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
