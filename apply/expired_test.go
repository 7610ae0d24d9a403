package apply_test

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// The spec and the plan only warn about an expired token certificate, so that read-only
// commands work on old clusters (issue 17); apply is where signing with one is refused, and
// then nothing is written.
func TestExpiredSignerRefused(t *testing.T) {
	l := newLab(t, map[string]int{"hq": 2})
	cfg := l.spec(hq("mixed", "alice", "bob"))
	var out bytes.Buffer
	o := l.opts(cfg, "alice", &out)
	future := tokens["alice"].Cert.NotAfter.Add(24 * time.Hour)
	o.Now = func() time.Time { return future }
	_, text, err := l.run(o)
	if err == nil || !strings.Contains(err.Error(), "expired on") || !strings.Contains(err.Error(), "nothing was written") {
		t.Fatalf("apply with an expired signer: %v\n%s", err, text)
	}
	for n, d := range l.digests("hq") {
		if d != "" {
			t.Errorf("node %s got a file", n)
		}
	}
	l.unlocked("hq")
	// Control: the same apply on today's clock signs.
	l.mustApply(cfg, "alice")
}
