package plan

import (
	"regexp"
	"strings"
	"testing"
)

// GitHub's patterns, as near as they are known: a mention is @ followed by a name, an
// autolink a scheme's "://", "www." or an email address.
var (
	ghMention  = regexp.MustCompile(`@[A-Za-z0-9]`)
	ghAutolink = regexp.MustCompile(`(?i)[a-z][a-z0-9+.-]*://|www\.|[A-Za-z0-9._+-]@[A-Za-z0-9-]`)
)

// TestMdEscapeNoPing: server-supplied words in a pull-request comment's plain text neither
// ping anyone (@team) nor become links (a bare URL, www., an email address), and still read
// the same once the zero-width spaces are taken out. In a code span they stay as they are.
func TestMdEscapeNoPing(t *testing.T) {
	for _, in := range []string{
		"cc @ctlops/admins please",
		"@everyone",
		"mail root@evil.example now",
		"see https://evil.example/x?y and HTTP://EVIL.example",
		"or www.evil.example and WWW.EVIL.EXAMPLE",
		"ftp://evil.example",
	} {
		got := mdEscape(in)
		if ghMention.MatchString(got) || ghAutolink.MatchString(got) {
			t.Errorf("mdEscape(%q) = %q: still a mention or an autolink", in, got)
		}
		if plain := strings.ReplaceAll(got, zwsp, ""); plain != mdSyntax.Replace(in) {
			t.Errorf("mdEscape(%q) reads %q once the zero-width spaces are out", in, plain)
		}
		if code := mdCode(in); strings.Contains(code, zwsp) {
			t.Errorf("mdCode(%q) = %q: a code span needs no break", in, code)
		}
	}
}
