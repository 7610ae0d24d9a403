package plan

import "testing"

// TestUnifiedHunkHeaders checks the line numbers of each hunk against what diff -u writes;
// the goldens compare them too, so a wrong count shows in both places.
func TestUnifiedHunkHeaders(t *testing.T) {
	for _, c := range []struct{ a, b, want string }{
		{"", "x\ny", "--- a\n+++ b\n@@ -0,0 +1,2 @@\n+x\n+y\n"},
		{"x\ny", "", "--- a\n+++ b\n@@ -1,2 +0,0 @@\n-x\n-y\n"},
		{"1\n2\n3\n4\n5", "1\n2\n3\n4\nfive", "--- a\n+++ b\n@@ -2,4 +2,4 @@\n 2\n 3\n 4\n-5\n+five\n"},
		{"1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11", "one\n2\n3\n4\n5\n6\n7\n8\n9\n10\neleven",
			"--- a\n+++ b\n@@ -1,4 +1,4 @@\n-1\n+one\n 2\n 3\n 4\n@@ -8,4 +8,4 @@\n 8\n 9\n 10\n-11\n+eleven\n"},
		{"same", "same", ""},
	} {
		if got := unified(c.a, c.b, "a", "b"); got != c.want {
			t.Errorf("unified(%q, %q) =\n%s\nwant\n%s", c.a, c.b, got, c.want)
		}
	}
}
