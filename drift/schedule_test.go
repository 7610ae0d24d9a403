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
