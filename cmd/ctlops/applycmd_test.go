package main

import "testing"

// The hint after `plan --out` is the exact command: -f when the spec is not ./ctlops.yaml,
// quoted for a shell when a path needs it.
func TestApplyCommand(t *testing.T) {
	for _, c := range []struct{ out, spec, want string }{
		{"plan.json", "", "ctlops apply plan.json"},
		{"plan.json", "specs/prod", "ctlops apply plan.json -f specs/prod"},
		{"my plan.json", "it's.yaml", `ctlops apply 'my plan.json' -f 'it'\''s.yaml'`},
	} {
		if got := applyCommand(c.out, c.spec); got != c.want {
			t.Errorf("applyCommand(%q, %q) = %s, want %s", c.out, c.spec, got, c.want)
		}
	}
}
