package adapter

import (
	"strings"
	"testing"
	"time"
)

// Apply's before and after evaluations warn with the cluster's window (ApplyOptions.
// ExpiryWarning, the spec's expiryWarning), not a fixed 30 days: forty days before the lab's
// five-year certificates end, a 60-day window warns about them and the default does not.
func TestApplyExpiryWindow(t *testing.T) {
	_, tg := startSim(t, simOpts{mixed: true})
	// The simulator issues its certificates an hour before now, for five years.
	at := time.Now().AddDate(5, 0, 0).Add(-40 * 24 * time.Hour)
	const soon = "mpub CallManager certificate expires on"
	warns := func(window time.Duration) bool {
		t.Helper()
		res, err := apply(t, tg, ApplyOptions{WantMixed: true, Now: func() time.Time { return at }, ExpiryWarning: window})
		if err != nil {
			t.Fatal(err)
		}
		if res.Before == nil {
			t.Fatal("no before evaluation")
		}
		return strings.Contains(strings.Join(res.Before.Warnings, "\n"), soon)
	}
	if warns(0) {
		t.Errorf("the default window warns about a certificate 40 days from its end")
	}
	if !warns(60 * 24 * time.Hour) {
		t.Errorf("a 60-day window does not warn about a certificate 40 days from its end")
	}
}
