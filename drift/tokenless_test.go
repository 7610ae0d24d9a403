package drift_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/drift"
	"github.com/ctlops/ctlops/lab/cucmsim/cucmsimtest"
)

// TestTokenlessDrift: a mixed tokenless cluster is in sync; after a certificate
// regeneration on msub, drift exits 2 naming msub and the publisher command, and reports the
// stale ITL of msub as a warning. Nothing the check does changes the cluster (no utils ctl
// or utils service command is typed).
func TestTokenlessDrift(t *testing.T) {
	sim := cucmsimtest.Start(t, "12.5.1.11900-146", true)
	cfg := cucmsimtest.Spec(t, sim, "mixed")
	run := func() (*drift.Result, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		r, err := drift.Check(ctx, cfg, nil, drift.Options{Timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := r.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		return r, b.String()
	}
	if r, text := run(); r.ExitCode() != 0 {
		t.Fatalf("exit %d before any event:\n%s", r.ExitCode(), text)
	}
	if err := sim.RegenCert("msub", "CallManager"); err != nil {
		t.Fatal(err)
	}
	r, text := run()
	if r.ExitCode() != 2 || !strings.Contains(text, "msub") || !strings.Contains(text, "utils ctl update CTLFile") {
		t.Fatalf("exit %d after regen-cert:\n%s", r.ExitCode(), text)
	}
	if !strings.Contains(text, "warning: ITL of msub") {
		t.Errorf("no ITL warning for msub:\n%s", text)
	}
	for _, c := range sim.Commands() {
		if strings.Contains(c, "utils ctl") || strings.Contains(c, "utils service") {
			t.Fatalf("drift typed a changing command: %q", c)
		}
	}
}
