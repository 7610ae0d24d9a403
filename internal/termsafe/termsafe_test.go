package termsafe

import (
	"errors"
	"testing"
)

func TestString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"cm1.hq.example.com", "cm1.hq.example.com"},
		{"tab\tand\nnewline", "tab\tand\nnewline"},
		{"\x1b[2J\x1b[HApply complete.", `\x1b[2J\x1b[HApply complete.`},
		{"bell\a and cr\r", `bell\a and cr\r`},
		{"c1 \u009b31m", `c1 \u009b31m`},
		{"bidi \u202eevil", `bidi \u202eevil`},
		{"bad \xff utf8", `bad \xff utf8`},
		{"ünïcödé ok", "ünïcödé ok"},
	} {
		if got := String(tc.in); got != tc.want {
			t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLineAndError(t *testing.T) {
	if got := Line("a\nb\x1b"); got != `a\nb\x1b` {
		t.Errorf("Line = %q", got)
	}
	if got := Error(errors.New("x\x1by")); got != `x\x1by` {
		t.Errorf("Error = %q", got)
	}
	if Error(nil) != "" {
		t.Error("Error(nil) not empty")
	}
}

func FuzzString(f *testing.F) {
	f.Add("\x1b[2Jhello")
	f.Add("plain")
	f.Fuzz(func(t *testing.T, s string) {
		out := String(s)
		for _, r := range out {
			if unsafe(r) && r != '\n' && r != '\t' {
				t.Fatalf("String(%q) left %q", s, r)
			}
		}
		if clean(s) && out != s {
			t.Fatalf("clean input changed: %q -> %q", s, out)
		}
	})
}
