package golden

import "testing"

func TestFirstDifference(t *testing.T) {
	for _, c := range []struct {
		a, b       string
		line       int
		lineA, lnB string
	}{
		{"x\ny\nz", "x\nY\nz", 2, "y", "Y"},
		{"x", "x\ny", 2, "(end)", "y"},
		{"", "a", 1, "", "a"},
	} {
		n, a, b := FirstDifference(c.a, c.b)
		if n != c.line || a != c.lineA || b != c.lnB {
			t.Errorf("FirstDifference(%q, %q) = %d %q %q", c.a, c.b, n, a, b)
		}
	}
}
