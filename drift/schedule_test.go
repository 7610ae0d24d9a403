package drift_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/drift"
)

func TestScheduleValidate(t *testing.T) {
	for _, c := range []struct {
		s    drift.Schedule
		want string // "" for valid
	}{
		{drift.Schedule{Format: "text"}, ""},
		{drift.Schedule{Format: "json", Every: time.Minute, Listen: "127.0.0.1:0"}, ""},
		{drift.Schedule{Format: "yaml"}, "--format"},
		{drift.Schedule{Format: "text", Every: time.Millisecond}, "--every"},
		{drift.Schedule{Format: "text", Every: -time.Second}, "--every"},
		{drift.Schedule{Format: "text", Listen: "127.0.0.1:0"}, "--listen"},
	} {
		err := c.s.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: err %v, want %q", c.s, err, c.want)
		}
	}
}

// TestServeMetrics: the loop's metrics are served on a loopback port until stopped.
func TestServeMetrics(t *testing.T) {
	l := &drift.Loop{}
	addr, stop, err := l.ServeMetrics("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr.String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /metrics: %d\n%s", resp.StatusCode, b)
	}
	stop()
	if _, err := http.Get("http://" + addr.String() + "/metrics"); err == nil {
		t.Error("metrics still served after stop")
	}
}

// TestServeMetricsLimits: the --listen server bounds every read, write and idle wait, and
// answers headers larger than its limit with 431 instead of reading up to net/http's 1 MiB.
func TestServeMetricsLimits(t *testing.T) {
	rh, r, w, idle, maxHeader := drift.MetricsServerLimits()
	for name, d := range map[string]time.Duration{"ReadHeaderTimeout": rh, "ReadTimeout": r, "WriteTimeout": w, "IdleTimeout": idle} {
		if d <= 0 || d > 5*time.Minute {
			t.Errorf("%s = %v, want a bound between 0 and 5m", name, d)
		}
	}
	if maxHeader <= 0 || maxHeader > 64<<10 {
		t.Fatalf("MaxHeaderBytes = %d, want at most 64 KiB", maxHeader)
	}
	l := &drift.Loop{}
	addr, stop, err := l.ServeMetrics("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	req, err := http.NewRequest("GET", "http://"+addr.String()+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Big", strings.Repeat("a", 128<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("GET with 128 KiB of headers: %d, want 431", resp.StatusCode)
	}
}
