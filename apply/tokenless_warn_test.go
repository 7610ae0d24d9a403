package apply_test

import (
	"strings"
	"testing"
	"time"
)

// TestTokenlessApplyWarnings: the warnings of the tokenless apply's own reads (before the
// command and after it) are printed, each once, and kept in the cluster's result. The lab's
// CallManager certificates end in five years: within a ten-year window they warn (the
// positive control); within the default 30 days the same apply prints no warning.
// TestTokenlessITLWarning has a warning of another kind.
func TestTokenlessApplyWarnings(t *testing.T) {
	for _, tc := range []struct {
		name   string
		window time.Duration
		warns  bool
	}{
		{"ten-year window", 3650 * 24 * time.Hour, true},
		{"default window", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newTokenlessLab(t)
			sim := startCUCM(t, "12.5.1.11900-146", false) // declared mixed: set-cluster mixed-mode
			cfg := l.mixedSpec([]string{tokenlessYAML("metro", "mixed", sim, nil)})
			if tc.window > 0 {
				cfg.Cluster("metro").ExpiryWarning = tc.window
			}
			res, text, err := l.run(l.tlOpts(cfg, false))
			if err != nil {
				t.Fatalf("%v\n%s", err, text)
			}
			if len(res.Clusters) != 1 {
				t.Fatalf("results %+v", res.Clusters)
			}
			got := res.Clusters[0].Warnings
			printed := strings.Count(text, "  Warning: ")
			if !tc.warns {
				if len(got) != 0 || printed != 0 {
					t.Fatalf("default window: warnings %q, printed %d\n%s", got, printed, text)
				}
				return
			}
			if len(got) == 0 || printed != len(got) {
				t.Fatalf("warnings %q, printed %d\n%s", got, printed, text)
			}
			seen := map[string]bool{}
			for _, w := range got {
				if seen[w] {
					t.Errorf("warning %q twice", w)
				}
				seen[w] = true
				if !strings.Contains(text, "  Warning: "+w+"\n") {
					t.Errorf("warning %q not printed\n%s", w, text)
				}
			}
			if !strings.Contains(strings.Join(got, "\n"), "CallManager certificate expires on") {
				t.Errorf("no CallManager expiry warning in %q", got)
			}
		})
	}
}

// TestTokenlessITLWarning: a regenerated CallManager certificate leaves the node's ITL naming
// the old one, which the apply's read warns about (ctlops does not manage the ITL) on the
// default window.
func TestTokenlessITLWarning(t *testing.T) {
	l := newTokenlessLab(t)
	sim := startCUCM(t, "12.5.1.11900-146", true)
	cfg := l.mixedSpec([]string{tokenlessYAML("metro", "mixed", sim, nil)})
	if err := sim.RegenCert("msub", "CallManager"); err != nil {
		t.Fatal(err)
	}
	res, text, err := l.run(l.tlOpts(cfg, false))
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if w := res.Clusters[0].Warnings; len(w) != 1 || !strings.Contains(w[0], "ITL of msub") || !strings.Contains(text, "  Warning: "+w[0]+"\n") {
		t.Errorf("warnings %q\n%s", w, text)
	}
}
