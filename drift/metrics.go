package drift

import (
	"bytes"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"

	"github.com/ctlops/ctlops/internal/atomicfile"
	"github.com/ctlops/ctlops/internal/termsafe"
	"github.com/ctlops/ctlops/plan"
)

// Metrics are the Prometheus view of drift checks, for node_exporter's textfile collector
// (WriteFile) or a scrape of /metrics (Handler). Series per cluster:
//
//	ctlops_drift{cluster}                          1 drift, 0 in sync (last known when a check fails)
//	ctlops_check_success{cluster}                  1 when the last check could read the cluster
//	ctlops_last_check_timestamp_seconds{cluster}   end of the last successful check
//	ctlops_check_duration_seconds{cluster}         duration of the last check
//	ctlops_ctl_records{cluster,role}               records of the cluster's live CTL by role
//	ctlops_certificate_expiry_timestamp_seconds{cluster,role,name,serial}  NotAfter per record
//	ctlops_fetch_errors_total{cluster,server}      failed reads since the process started
type Metrics struct {
	reg      *prometheus.Registry
	drift    *prometheus.GaugeVec
	success  *prometheus.GaugeVec
	last     *prometheus.GaugeVec
	duration *prometheus.GaugeVec
	records  *prometheus.GaugeVec
	expiry   *prometheus.GaugeVec
	fetchErr *prometheus.CounterVec
}

// NewMetrics registers the series on a registry of their own (no Go runtime series: the
// textfile collector would publish them as if they were the host's).
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	g := func(name, help string, labels ...string) *prometheus.GaugeVec {
		v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
		m.reg.MustRegister(v)
		return v
	}
	m.drift = g("ctlops_drift", "1 when the cluster's live CTL state differs from the spec, 0 when it matches.", "cluster")
	m.success = g("ctlops_check_success", "1 when the last drift check could read the cluster, 0 when it failed.", "cluster")
	m.last = g("ctlops_last_check_timestamp_seconds", "Unix time of the end of the last successful drift check.", "cluster")
	m.duration = g("ctlops_check_duration_seconds", "Duration of the last drift check of the cluster.", "cluster")
	m.records = g("ctlops_ctl_records", "Records of the cluster's live CTL file, by role.", "cluster", "role")
	m.expiry = g("ctlops_certificate_expiry_timestamp_seconds", "Unix time at which the certificate of a live CTL record expires.", "cluster", "role", "name", "serial")
	m.fetchErr = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ctlops_fetch_errors_total",
		Help: "Failed reads of a server since ctlops started."}, []string{"cluster", "server"})
	m.reg.MustRegister(m.fetchErr)
	return m
}

// Update records a check.
func (m *Metrics) Update(r *Result) {
	for _, c := range r.Clusters {
		m.duration.WithLabelValues(c.Name).Set(c.Duration)
		for server, n := range c.FetchErrors {
			m.fetchErr.WithLabelValues(c.Name, label(server)).Add(float64(n))
		}
		if c.Error != "" {
			m.success.WithLabelValues(c.Name).Set(0)
			continue
		}
		m.success.WithLabelValues(c.Name).Set(1)
		m.drift.WithLabelValues(c.Name).Set(b2f(c.Drift))
		m.last.WithLabelValues(c.Name).Set(float64(c.Checked.Add(time.Duration(c.Duration*float64(time.Second))).UnixMilli()) / 1000)
		if c.Plan == nil {
			continue
		}
		// Counters start at 0 for every server, so that rate() sees the first error.
		for _, t := range c.Plan.Targets {
			m.fetchErr.WithLabelValues(c.Name, label(t.Server)).Add(0)
		}
		m.records.DeletePartialMatch(prometheus.Labels{"cluster": c.Name})
		m.expiry.DeletePartialMatch(prometheus.Labels{"cluster": c.Name})
		for role, n := range liveRoles(c.Plan) {
			m.records.WithLabelValues(c.Name, role).Set(float64(n))
		}
		for _, rs := range liveRecords(c.Plan) {
			if rs.NotAfter == "" {
				continue
			}
			t, err := time.Parse(time.RFC3339, rs.NotAfter)
			if err != nil {
				continue
			}
			name := rs.DNSName
			if name == "" {
				name = rs.Subject
			}
			m.expiry.WithLabelValues(c.Name, rs.Role, label(name), rs.Serial).Set(float64(t.Unix()))
		}
	}
}

// label is a server's name (from its inventory, or a record of the live CTL) as a label
// value: filtered, which also makes it valid UTF-8; the client library panics on a value
// that is not, and a CTL's names are any bytes a server chose.
func label(s string) string { return termsafe.Line(s) }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// liveRecords are the records of the cluster's live file, as the plan saw them: the "before"
// side of every unchanged, changed and removed record.
func liveRecords(pc *plan.Cluster) []*plan.RecordState {
	var out []*plan.RecordState
	for _, as := range [][]plan.Change{pc.Unchanged, pc.Actions} {
		for _, a := range as {
			if a.Before != nil {
				out = append(out, a.Before)
			}
		}
	}
	return out
}

func liveRoles(pc *plan.Cluster) map[string]int {
	out := map[string]int{}
	for _, r := range liveRecords(pc) {
		out[r.Role]++
	}
	return out
}

// Text renders the metrics in the Prometheus text exposition format.
func (m *Metrics) Text() ([]byte, error) {
	mfs, err := m.reg.Gather()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// WriteFile writes the metrics for node_exporter's textfile collector: atomically (temporary
// file in the same directory, then rename), since the collector may read at any moment and a
// half-written file fails the whole scrape.
func (m *Metrics) WriteFile(path string) error {
	b, err := m.Text()
	if err != nil {
		return err
	}
	return atomicfile.Write(path, b, 0o644) // read by node_exporter, another user
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}
