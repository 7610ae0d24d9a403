package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The expiry warning window is the spec's: 30 days by default, the file's expiryWarning, or
// the cluster's own.
func TestExpiryWarningWindow(t *testing.T) {
	testEnv(t)
	dir := t.TempDir()
	writeCert(t, dir, "soon.pem", time.Now().Add(-time.Hour), time.Now().Add(45*24*time.Hour))
	writeCert(t, dir, "far.pem", time.Now().Add(-time.Hour), time.Now().AddDate(2, 0, 0))
	cluster := func(extra string) string {
		return "  - name: c" + strings.Repeat("x", len(extra)%7) + "\n    mode: mixed\n" + extra +
			"    providers: [{url: tftp://127.0.0.1}]\n    tokens:\n      - {name: a, certificate: soon.pem}\n      - {name: b, certificate: far.pem}\n"
	}
	tests := []struct {
		name, top, cl string
		warn          bool
	}{
		{"default 30 days", "", "", false},
		{"file says 60d", "expiryWarning: 60d\n", "", true},
		{"cluster says 40d over the file's 60d", "expiryWarning: 60d\n", "    expiryWarning: 40d\n", false},
		{"cluster says 90d", "", "    expiryWarning: 90d\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, "s.yaml")
			os.WriteFile(p, []byte("version: 1\n"+tt.top+"clusters:\n"+cluster(tt.cl)), 0o644)
			_, warns, err := Load(p)
			if err != nil {
				t.Fatal(err)
			}
			got := false
			for _, w := range warns {
				got = got || strings.Contains(w.Msg, "soon.pem") && strings.Contains(w.Msg, "enrol its replacement token now")
				if strings.Contains(w.Msg, "far.pem") {
					t.Errorf("far.pem warned: %s", w)
				}
			}
			if got != tt.warn {
				t.Errorf("warning for a certificate expiring in 45 days: %v, want %v (%v)", got, tt.warn, warns)
			}
		})
	}
}

// LoadOptions.ExpiryWarning (the commands' --expiry-window) overrides the file's and the
// cluster's expiryWarning in both directions, for validate's warnings and for the window
// plan and drift warn with (Cluster.ExpiryWarning); without it the spec's stands (control).
func TestExpiryWarningOverride(t *testing.T) {
	testEnv(t)
	dir := t.TempDir()
	writeCert(t, dir, "soon.pem", time.Now().Add(-time.Hour), time.Now().Add(45*24*time.Hour))
	writeCert(t, dir, "far.pem", time.Now().Add(-time.Hour), time.Now().AddDate(2, 0, 0))
	days := func(n int) *time.Duration { d := time.Duration(n) * 24 * time.Hour; return &d }
	tests := []struct {
		name, top, cl string
		override      *time.Duration
		warn          bool
		window        time.Duration
	}{
		{"spec 60d, no override", "expiryWarning: 60d\n", "", nil, true, 60 * 24 * time.Hour},
		{"spec 60d, override 10d", "expiryWarning: 60d\n", "", days(10), false, 10 * 24 * time.Hour},
		{"cluster 90d, override 0d", "", "    expiryWarning: 90d\n", days(0), false, 0},
		{"default, override 50d", "", "", days(50), true, 50 * 24 * time.Hour},
		{"file 10d, cluster 20d, override 60d", "expiryWarning: 10d\n", "    expiryWarning: 20d\n", days(60), true, 60 * 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, "s.yaml")
			os.WriteFile(p, []byte("version: 1\n"+tt.top+"clusters:\n  - name: c\n    mode: mixed\n"+tt.cl+
				"    providers: [{url: tftp://127.0.0.1}]\n    tokens:\n      - {name: a, certificate: soon.pem}\n      - {name: b, certificate: far.pem}\n"), 0o644)
			cfg, warns, err := LoadWith(p, LoadOptions{ExpiryWarning: tt.override})
			if err != nil {
				t.Fatal(err)
			}
			got := false
			for _, w := range warns {
				got = got || strings.Contains(w.Msg, "soon.pem") && strings.Contains(w.Msg, "enrol its replacement token now")
			}
			if got != tt.warn {
				t.Errorf("warning for a certificate expiring in 45 days: %v, want %v (%v)", got, tt.warn, warns)
			}
			if w := cfg.Cluster("c").ExpiryWarning; w != tt.window {
				t.Errorf("Cluster.ExpiryWarning %v, want %v", w, tt.window)
			}
		})
	}
}
