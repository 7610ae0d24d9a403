package drift_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/drift"
	"github.com/ctlops/ctlops/plan"
)

// A live CTL's record names are any bytes its server chose: one that is not UTF-8 (or holds
// escapes) becomes a filtered label value, and the metrics are written, rather than the
// client library's panic ending drift --every. The control is a plain name, shown as it is.
func TestMetricsHostileNames(t *testing.T) {
	for _, tc := range []struct{ name, dns, label string }{
		{"plain name (control)", "cm1", `name="cm1"`},
		{"not UTF-8, with an escape", "cm\xff1\x1b[2J", `name="cm\\xff1\\x1b[2J"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := drift.NewMetrics()
			pc := &plan.Cluster{Name: "hq",
				Targets:   []plan.TargetState{{Server: tc.dns, Address: "127.0.0.1:2444"}},
				Unchanged: []plan.Change{{Before: &plan.RecordState{Role: "CCM+TFTP", DNSName: tc.dns, Serial: "1f", NotAfter: "2030-01-01T00:00:00Z"}}}}
			m.Update(&drift.Result{Clusters: []*drift.ClusterResult{{Name: "hq", Plan: pc, Checked: time.Now(), FetchErrors: map[string]int{tc.dns: 1}}}})
			b, err := m.Text()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), tc.label) || !strings.Contains(string(b), `server="`+strings.TrimPrefix(tc.label, `name="`)) {
				t.Errorf("metrics do not hold %s:\n%s", tc.label, b)
			}
		})
	}
}
