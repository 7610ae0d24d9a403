package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// --expiry-window overrides the spec's expiryWarning for validate, plan and drift (issue 17):
// planSpec's tokens end in five years, so they warn within 2000 days and not within the
// default 30 (the control, the same commands without the flag).
func TestExpiryWindowFlag(t *testing.T) {
	spec := planSpec(t, 2)
	const tokenSoon = "certificate of token t0 expires on" // the plan's warning

	code, out, errs := runCLI(t, nil, "validate", "-f", spec)
	if code != 0 || strings.Contains(out+errs, "enrol its replacement token now") {
		t.Fatalf("validate, default window: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = runCLI(t, nil, "validate", "-f", spec, "--expiry-window", "2000d")
	if code != 0 || !strings.Contains(out, "t0.pem") || !strings.Contains(out, "enrol its replacement token now") {
		t.Fatalf("validate --expiry-window 2000d: exit %d\n%s%s", code, out, errs)
	}

	code, out, errs = runCLI(t, nil, "plan", "-f", spec)
	if code != 0 || strings.Contains(out, tokenSoon) {
		t.Fatalf("plan, default window: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = runCLI(t, nil, "plan", "-f", spec, "--expiry-window", "48000h")
	if code != 0 || !strings.Contains(out, tokenSoon) || !strings.Contains(out, "expires on") {
		t.Fatalf("plan --expiry-window 48000h: exit %d\n%s%s", code, out, errs)
	}

	driftWarns := func(args ...string) int {
		t.Helper()
		code, out, errs := runCLI(t, nil, append([]string{"drift", "-f", spec, "--format", "json"}, args...)...)
		var r struct {
			Clusters []struct {
				Plan struct {
					Warnings []struct {
						Kind string
						Of   struct{ Token string } `json:"certificate_of"`
					}
				}
			}
		}
		if code != 2 || json.Unmarshal([]byte(out), &r) != nil || len(r.Clusters) != 1 {
			t.Fatalf("drift %v: exit %d\n%s%s", args, code, out, errs)
		}
		n := 0
		for _, w := range r.Clusters[0].Plan.Warnings {
			if w.Kind == "certificate-expiring" && w.Of.Token != "" {
				n++
			}
		}
		return n
	}
	if n := driftWarns(); n != 0 {
		t.Errorf("drift, default window: %d token expiry warnings", n)
	}
	if n := driftWarns("--expiry-window", "2000d"); n != 2 {
		t.Errorf("drift --expiry-window 2000d: %d token expiry warnings, want 2", n)
	}

	for _, cmd := range []string{"validate", "plan", "drift"} {
		code, _, errs := runCLI(t, nil, cmd, "-f", spec, "--expiry-window", "soon")
		if code != 1 || !strings.Contains(errs, "--expiry-window") || !strings.Contains(errs, "30d") {
			t.Errorf("%s --expiry-window soon: exit %d, stderr %q", cmd, code, errs)
		}
	}
}
