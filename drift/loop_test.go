package drift_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	dto "github.com/prometheus/client_model/go"

	"github.com/ctlops/ctlops/drift"
	"github.com/ctlops/ctlops/internal/labtest"
	"github.com/ctlops/ctlops/spec"
)

// hook is a webhook receiver on loopback that keeps what it was sent.
type hook struct {
	mu     sync.Mutex
	events []drift.Change
	status int
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var e drift.Change
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(b, &e) != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	h.events = append(h.events, e)
	if h.status != 0 {
		w.WriteHeader(h.status)
	}
}

func (h *hook) got() []drift.Change {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]drift.Change(nil), h.events...)
}

func parseMetrics(t *testing.T, r io.Reader) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(r)
	if err != nil {
		t.Fatalf("metrics do not parse: %v", err)
	}
	return mfs
}

// value returns the value of the series of family name whose labels include want.
func value(t *testing.T, mfs map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	t.Helper()
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
next:
	for _, m := range mf.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		}
	}
	return 0, false
}

// TestLoop runs the scheduled loop tick by tick: a drift is reported once when it appears
// (log, webhook) and once when it clears, the metrics file and /metrics say so, and the
// report file holds the latest full result.
func TestLoop(t *testing.T) {
	l, cfg := installedLab(t, 2)
	h := &hook{}
	srv := httptest.NewServer(h)
	defer srv.Close()
	dir := t.TempDir()
	var log labtest.SyncBuffer
	m := drift.NewMetrics()
	loop := &drift.Loop{
		Check:       func(ctx context.Context) (*drift.Result, error) { return drift.Check(ctx, cfg, nil, opts) },
		Log:         &log,
		Metrics:     m,
		MetricsFile: filepath.Join(dir, "ctlops.prom"),
		ReportFile:  filepath.Join(dir, "report.json"),
		NotifyURL:   srv.URL + "/hook?token=s3cret",
	}
	scrape := httptest.NewServer(m.Handler())
	defer scrape.Close()
	ctx := context.Background()
	tick := func(wantEvents ...string) *drift.Result {
		t.Helper()
		r, events, err := loop.Once(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range events {
			got = append(got, e.Type)
		}
		if strings.Join(got, ",") != strings.Join(wantEvents, ",") {
			t.Fatalf("events %v, want %v", got, wantEvents)
		}
		return r
	}
	fileMetrics := func() map[string]*dto.MetricFamily {
		f, err := os.Open(loop.MetricsFile)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		return parseMetrics(t, f)
	}
	hq := map[string]string{"cluster": "hq"}

	tick()
	tick()
	mfs := fileMetrics()
	if v, ok := value(t, mfs, "ctlops_drift", hq); !ok || v != 0 {
		t.Errorf("ctlops_drift %v %v, want 0", v, ok)
	}
	// hq's CTL: 2 SAST, 2 CCM+TFTP.
	for role, n := range map[string]float64{"SAST": 2, "CCM+TFTP": 2} {
		if v, _ := value(t, mfs, "ctlops_ctl_records", map[string]string{"cluster": "hq", "role": role}); v != n {
			t.Errorf("ctlops_ctl_records{role=%s} = %v, want %v", role, v, n)
		}
	}
	if v, ok := value(t, mfs, "ctlops_certificate_expiry_timestamp_seconds", map[string]string{"cluster": "hq", "role": "SAST", "name": "CN=SAST-alice;OU=IPCBU;O=Example"}); !ok || v != 2366841600 {
		t.Errorf("alice's expiry %v %v, want 2045-01-01 (2366841600)", v, ok)
	}
	for _, name := range []string{"ctlops_last_check_timestamp_seconds", "ctlops_check_duration_seconds"} {
		if v, ok := value(t, mfs, name, hq); !ok || v <= 0 {
			t.Errorf("%s = %v %v", name, v, ok)
		}
	}
	if v, ok := value(t, mfs, "ctlops_fetch_errors_total", map[string]string{"cluster": "hq", "server": "cm2"}); !ok || v != 0 {
		t.Errorf("fetch errors of cm2 %v %v, want a 0 counter", v, ok)
	}
	if n := len(h.got()); n != 0 {
		t.Fatalf("%d notifications while in sync", n)
	}

	l.Clusters["hq"].ChangeIP("cm2", "10.9.9.9")
	r := tick("drift")
	tick()
	tick()
	if ev := h.got(); len(ev) != 1 || ev[0].Type != "drift" || ev[0].Cluster != "hq" || ev[0].State != r.Clusters[0].State ||
		!strings.Contains(strings.Join(ev[0].Reasons, "\n"), "10.9.9.9") || ev[0].DesiredDigest == "" || len(ev[0].LiveDigests) != 2 {
		t.Fatalf("notifications %+v", ev)
	}
	if v, _ := value(t, fileMetrics(), "ctlops_drift", hq); v != 1 {
		t.Errorf("ctlops_drift %v in the file, want 1", v)
	}
	resp, err := http.Get(scrape.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	mfs = parseMetrics(t, resp.Body)
	resp.Body.Close()
	if v, _ := value(t, mfs, "ctlops_drift", hq); v != 1 {
		t.Errorf("ctlops_drift %v on /metrics, want 1", v)
	}
	var report drift.Result
	b, err := os.ReadFile(loop.ReportFile)
	if err != nil || json.Unmarshal(b, &report) != nil {
		t.Fatalf("report: %v", err)
	}
	if len(report.Clusters) != 1 || !report.Clusters[0].Drift || report.Clusters[0].Plan == nil || report.Clusters[0].Plan.Summary.Refresh != 1 {
		t.Errorf("report %+v", report.Clusters)
	}

	// A server that stops answering neither raises nor clears the drift; it is counted.
	cm2 := l.Clusters["hq"].Node("cm2")
	cm2.Stop()
	tick()
	if v, _ := value(t, fileMetrics(), "ctlops_check_success", hq); v != 0 {
		t.Errorf("ctlops_check_success %v, want 0", v)
	}
	if v, _ := value(t, fileMetrics(), "ctlops_fetch_errors_total", map[string]string{"cluster": "hq", "server": "cm2"}); v < 1 {
		t.Errorf("fetch errors of cm2 %v, want at least 1", v)
	}
	l.Clusters["hq"].Restart(cm2)

	l.InstallAll(l.Plan(cfg), "alice")
	tick("clear")
	tick()
	if ev := h.got(); len(ev) != 2 || ev[1].Type != "clear" || ev[1].Previous != r.Clusters[0].State {
		t.Fatalf("notifications %+v", ev)
	}
	if v, _ := value(t, fileMetrics(), "ctlops_drift", hq); v != 0 {
		t.Errorf("ctlops_drift %v after the fix, want 0", v)
	}

	// The log: one check line per tick, one line per state change, all JSON.
	var checks, drifts, clears int
	for _, line := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		var v struct{ Type string }
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("log line is not JSON: %s", line)
		}
		switch v.Type {
		case "check":
			checks++
		case "drift":
			drifts++
		case "clear":
			clears++
		default:
			t.Errorf("log line %s", line)
		}
	}
	if checks != 8 || drifts != 1 || clears != 1 {
		t.Errorf("log: %d checks, %d drift, %d clear lines, want 8, 1, 1:\n%s", checks, drifts, clears, log.String())
	}
	if strings.Contains(log.String(), "s3cret") {
		t.Error("the webhook URL's token is in the log")
	}
}

// TestLoopNotifyFailure: a webhook that fails is logged (without its URL) and the check
// goes on.
func TestLoopNotifyFailure(t *testing.T) {
	l, cfg := installedLab(t, 1)
	h := &hook{status: http.StatusBadGateway}
	srv := httptest.NewServer(h)
	defer srv.Close()
	var log labtest.SyncBuffer
	loop := &drift.Loop{
		Check:     func(ctx context.Context) (*drift.Result, error) { return drift.Check(ctx, cfg, nil, opts) },
		Log:       &log,
		NotifyURL: srv.URL + "/hook?token=s3cret",
		Retry:     drift.RetryPolicy{Attempts: 1}, // retries: notify_test.go
	}
	l.Clusters["hq"].ChangeIP("cm1", "10.9.9.9")
	if _, _, err := loop.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(h.got()) != 1 || !strings.Contains(log.String(), `"type":"notify_error"`) || !strings.Contains(log.String(), "502") {
		t.Fatalf("log:\n%s", log.String())
	}
	if strings.Contains(log.String(), "s3cret") {
		t.Error("the webhook URL's token is in the log")
	}
}

// TestLoopRun: Run ticks until its context ends.
func TestLoopRun(t *testing.T) {
	_, cfg := installedLab(t, 1)
	var log labtest.SyncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	loop := &drift.Loop{Every: 20e6, Log: &log,
		Check: func(ctx context.Context) (*drift.Result, error) { return drift.Check(ctx, cfg, nil, opts) }}
	done := make(chan error, 1)
	go func() { done <- loop.Run(ctx) }()
	waitFor(t, 20e9, "three checks", func() bool { return strings.Count(log.String(), `"type":"check"`) >= 3 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want drift.Shard
		err  bool
	}{
		{"", drift.Shard{}, false},
		{"0/1", drift.Shard{I: 0, N: 1}, false},
		{"2/4", drift.Shard{I: 2, N: 4}, false},
		{" 1 / 3 ", drift.Shard{I: 1, N: 3}, false},
		{"4/4", drift.Shard{}, true},
		{"-1/4", drift.Shard{}, true},
		{"1/0", drift.Shard{}, true},
		{"1", drift.Shard{}, true},
		{"a/b", drift.Shard{}, true},
	} {
		got, err := drift.ParseShard(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseShard(%q) = %v, %v", tc.in, got, err)
		}
	}
}

// TestShardPartition: the shards of a fleet hold every cluster exactly once, and a cluster's
// shard does not depend on the others (adding clusters moves none).
func TestShardPartition(t *testing.T) {
	var all []*spec.Cluster
	for i := range 1000 {
		all = append(all, &spec.Cluster{Name: fmt.Sprintf("site-%d", i)})
	}
	const n = 7
	seen := map[string]int{}
	for i := range n {
		part := drift.Shard{I: i, N: n}.Filter(all)
		if len(part) < 1000/n/2 {
			t.Errorf("shard %d/%d holds only %d of 1000 clusters", i, n, len(part))
		}
		for _, c := range part {
			seen[c.Name]++
		}
		again := drift.Shard{I: i, N: n}.Filter(all[:500])
		for _, c := range again {
			if drift.Of(c.Name, n) != i {
				t.Errorf("%s moved", c.Name)
			}
		}
	}
	for _, c := range all {
		if seen[c.Name] != 1 {
			t.Errorf("%s is in %d shards", c.Name, seen[c.Name])
		}
	}
	// FNV-1a 32 of "hq" is documented: shards must agree across versions and machines.
	if got := drift.Of("hq", 1000); got != int(fnv1a("hq")%1000) {
		t.Errorf("Of(hq) = %d", got)
	}
}

// fnv1a is the published algorithm, written out so that a change of hash fails the test.
func fnv1a(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}
