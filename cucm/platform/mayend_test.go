package platform

import (
	"strings"
	"testing"
)

// TestMayEnd: the cheap tail check never hides an ending wait would match (the prompt, a
// confirmation, the pager line, with escapes, CRLF and a long escape sequence at the end), and
// says no for output that stops mid-answer.
func TestMayEnd(t *testing.T) {
	pem := strings.Repeat("MIIDdzCCAl+gAwIBAgIQ\r\n", 60)
	for _, c := range []struct {
		name string
		raw  string
		want bool
	}{
		{"prompt", "show ctl\r\n" + pem + "admin:", true},
		{"prompt with noise", "show ctl\r\n" + pem + "\x1b[0m\x1b[K\r\nadmin: ", true},
		{"confirmation", "utils ctl update CTLFile\r\nDo you want to continue? (y/n):", true},
		{"confirmation without colon", "Do you want to continue? (y/n)", true},
		{"yes/no", "Continue (yes/no)?", true},
		{"enter y", `Enter "y" followed by return to continue:`, true},
		{"pager", "options: q=quit, n=next, p=prev, b=begin, e=end (lines 1 - 20 of 99) :", true},
		{"prompt then a long OSC", "admin:\x1b]0;" + strings.Repeat("t", 600) + "\x07", true},
		{"mid answer", "show ctl\r\n" + pem, false},
		{"mid line", "Length of CTL file: 5", false},
		{"empty", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := mayEnd([]byte(c.raw)); got != c.want {
				t.Fatalf("mayEnd = %v, want %v", got, c.want)
			}
			// Whatever the full check matches, the tail check must let through.
			full := Clean(c.raw)
			if (promptRE.MatchString(full) || confirmRE.MatchString(full) || pagerTail.MatchString(full)) && !mayEnd([]byte(c.raw)) {
				t.Fatal("the tail check hides an ending the full check matches")
			}
		})
	}
}
