package termsafe

import (
	"encoding/json"
	"errors"
	"reflect"
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

// JSON escapes what encoding/json leaves raw and a terminal would obey (C1 controls, DEL,
// bidi and other format characters, beyond the BMP too), and the JSON decodes to the same
// values. The control: JSON without them is returned as it is.
func TestJSON(t *testing.T) {
	for _, v := range []map[string]string{
		{"plain": "cm1.hq.example.com ünïcödé", "tab": "a\tb"},
		{"c1": "a\u009b2Jb", "bidi": "x\u202ey", "del": "d\x7fe", "tag": "t\U000E0001u", "esc": "\x1b[2J"},
	} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out := JSON(b)
		if !clean(string(out)) {
			t.Errorf("JSON(%s) = %s holds raw controls", b, out)
		}
		if clean(string(b)) && string(out) != string(b) {
			t.Errorf("clean JSON changed: %s -> %s", b, out)
		}
		var got map[string]string
		if err := json.Unmarshal(out, &got); err != nil || !reflect.DeepEqual(got, v) {
			t.Errorf("JSON(%s) = %s decodes to %q (%v), want %q", b, out, got, err, v)
		}
	}
}
