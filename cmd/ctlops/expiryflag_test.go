package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/internal/labtest"
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
		// The bound of the spec's expiryWarning and of a saved plan's window: ten years.
		code, _, errs = runCLI(t, nil, cmd, "-f", spec, "--expiry-window", "3651d")
		if code != 1 || !strings.Contains(errs, "--expiry-window") || !strings.Contains(errs, "more than ten years") {
			t.Errorf("%s --expiry-window 3651d: exit %d, stderr %q", cmd, code, errs)
		}
	}
	if code, out, errs := runCLI(t, nil, "validate", "-f", spec, "--expiry-window", "3650d"); code != 0 {
		t.Errorf("validate --expiry-window 3650d (the bound): exit %d\n%s%s", code, out, errs)
	}
}

// watch takes --expiry-window as plan does: its plans warn about the five-year tokens within
// 2000 days and not within the spec's default window; a bad value is refused before watching.
func TestWatchExpiryWindow(t *testing.T) {
	spec := planSpec(t, 2)
	const tokenSoon = "certificate of token t0 expires on"
	firstPlan := func(args ...string) string {
		t.Helper()
		root := newRoot()
		root.SetArgs(append([]string{"watch", "-f", spec}, args...))
		var out, errb labtest.SyncBuffer
		root.SetOut(&out)
		root.SetErr(&errb)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- root.ExecuteContext(ctx) }()
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(out.String(), "Plan: ") {
			select {
			case err := <-done:
				cancel()
				t.Fatalf("watch %v ended before its first plan: %v\n%s%s", args, err, out.String(), errb.String())
			case <-time.After(10 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				cancel()
				t.Fatalf("watch %v: no plan within 30s\n%s%s", args, out.String(), errb.String())
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("watch %v: %v", args, err)
		}
		return out.String()
	}
	if out := firstPlan(); strings.Contains(out, tokenSoon) {
		t.Errorf("watch, default window, warns:\n%s", out)
	}
	if out := firstPlan("--expiry-window", "2000d"); !strings.Contains(out, tokenSoon) {
		t.Errorf("watch --expiry-window 2000d does not warn:\n%s", out)
	}
	code, _, errs := runCLI(t, nil, "watch", "-f", spec, "--expiry-window", "soon")
	if code != 1 || !strings.Contains(errs, "--expiry-window") || !strings.Contains(errs, "30d") {
		t.Errorf("watch --expiry-window soon: exit %d, stderr %q", code, errs)
	}
}
