package adopt

import (
	"path/filepath"
	"testing"
)

// FuzzSafeName: whatever a certificate or server calls itself, the name is one the spec accepts
// and a file name inside the directory (or "", and then a numbered name is used). The seeds
// run in every go test.
func FuzzSafeName(f *testing.F) {
	for _, s := range []string{"gigantic-6.cisco.com", "../../etc/passwd", "..", ".", "/", "a/../../b", "\x00", "x\n  suspend: true",
		"SAST-ADN0054f509        ", "ITLRECOVERY_gigantic-6.cisco.com", "\u202egnp.exe", "C:\\Windows", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := safeName(s)
		if n == "" {
			return
		}
		if !namePattern.MatchString(n) {
			t.Fatalf("safeName(%q) = %q, not a spec name", s, n)
		}
		p := filepath.Join(TokenDir, n+".pem")
		if !filepath.IsLocal(p) || filepath.Dir(p) != TokenDir {
			t.Fatalf("safeName(%q) = %q leaves the token folder: %s", s, n, p)
		}
	})
}
