package drift_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/drift"
	"github.com/ctlops/ctlops/internal/labtest"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/provider/providertest/hostile"
	"github.com/ctlops/ctlops/spec"
)

// An inventory's words about a server it cannot reach (the server's name, its error) make the
// cluster uncheckable, and drift's text names them filtered, on one line: no escape reaches
// the terminal, no line of the server's ("Apply complete.") starts a line of the report. The
// control: plain words, shown as they are. The plan's text view shows the error the same way.
func TestDriftErrorFiltered(t *testing.T) {
	for _, tc := range []struct{ name, json, shown string }{
		{"plain words (control)", `connection refused`, `is unreachable from 127.0.0.1:`},
		{"escapes and a newline", `\u001b[2Jrefused\nApply complete.`, `\x1b[2Jrefused\nApply complete.`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := `{"cluster":"hq","mode":"mixed","servers":[{"name":"cm2","provider":"127.0.0.1:1","roles":["CCM","TFTP"],"error":"` + tc.json + `"}]}`
			s := hostile.NewHTTPS(t, hostile.Body(200, "application/json", []byte(inv)))
			host, port, _ := strings.Cut(s.Addr, ":")
			dir := t.TempDir()
			for _, n := range []string{"token1.pem", "token2.pem"} {
				b, err := os.ReadFile(filepath.Join("..", "spec", "testdata", "certs", n))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			y := "version: 1\nclusters:\n  - name: hq\n    mode: mixed\n    providers: [{host: " + host + ", port: " + port + "}]\n" +
				"    credentials: {username: admin, password: {env: CTLOPS_TEST_DRIFT_PW}}\n    tls: {pin: [" + s.Pin + "]}\n    tokens:\n      - {name: a, certificate: token1.pem}\n      - {name: b, certificate: token2.pem}\n"
			path := filepath.Join(dir, "ctlops.yaml")
			if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Setenv("CTLOPS_TEST_DRIFT_PW", "pw")
			cfg, _, err := spec.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			r, err := drift.Check(context.Background(), cfg, nil, drift.Options{Timeout: 5 * time.Second, Retries: -1})
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			if err := r.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			// The plan's text view of the same cluster (plan, apply) says it the same way.
			p := &plan.Plan{FormatVersion: plan.FormatVersion, Clusters: []*plan.Cluster{r.Clusters[0].Plan}}
			if err := p.WriteText(&b, plan.TextOptions{}); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if !strings.Contains(out, "hq: ERROR: ") || !strings.Contains(out, tc.shown) || strings.Contains(out, "\x1b") || strings.Contains(out, "\nApply complete.") {
				t.Errorf("drift's text does not show %q filtered on one line:\n%q", tc.shown, out)
			}
		})
	}
}

// The log lines quote what a check found: whatever reaches them is escaped so that a log read
// on a terminal drives nothing, and it decodes to what was found. The control: plain words.
func TestLogLinesEscaped(t *testing.T) {
	for _, tc := range []struct{ name, err string }{
		{"plain words (control)", "cm2 unreachable"},
		{"a C1 control and a bidi override", "cm2\u009b2J unreachable\u202e"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log labtest.SyncBuffer
			loop := &drift.Loop{Log: &log, Check: func(context.Context) (*drift.Result, error) {
				return &drift.Result{Time: time.Now(), Clusters: []*drift.ClusterResult{{Name: "hq", Error: tc.err}}}, nil
			}}
			if _, _, err := loop.Once(context.Background()); err != nil {
				t.Fatal(err)
			}
			raw := log.String()
			var line struct{ Errors map[string]string }
			if err := json.Unmarshal([]byte(strings.SplitN(raw, "\n", 2)[0]), &line); err != nil || line.Errors["hq"] != tc.err {
				t.Fatalf("log line %q does not decode to the error: %v", raw, err)
			}
			if strings.ContainsAny(raw, "\u009b\u202e") {
				t.Errorf("the log holds raw controls: %q", raw)
			}
		})
	}
}

// drift --format json escapes what encoding/json leaves raw and says the same values. The
// control: plain words.
func TestJSONViewEscaped(t *testing.T) {
	for _, e := range []string{"cm2 unreachable", "cm2\u009b2J unreachable\u202e"} {
		r := &drift.Result{Clusters: []*drift.ClusterResult{{Name: "hq", Error: e}}}
		var b strings.Builder
		if err := r.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		var v struct{ Clusters []struct{ Error string } }
		if err := json.Unmarshal([]byte(b.String()), &v); err != nil || len(v.Clusters) != 1 || v.Clusters[0].Error != e {
			t.Fatalf("the JSON does not say %q (%v):\n%s", e, err, b.String())
		}
		if strings.ContainsAny(b.String(), "\u009b\u202e") {
			t.Errorf("the JSON holds raw controls: %q", b.String())
		}
	}
}
