package drift_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctlops/ctlops/drift"
	"github.com/ctlops/ctlops/internal/labtest"
)

// flaky answers fail for the first n POSTs, then 204.
type flaky struct {
	n, calls atomic.Int32
	fail     int
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.calls.Add(1) <= f.n.Load() {
		w.WriteHeader(f.fail)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// driftOnce is a check that finds cluster hq drifted.
func driftOnce(context.Context) (*drift.Result, error) {
	return &drift.Result{Time: time.Now(), Clusters: []*drift.ClusterResult{{Name: "hq", Drift: true, State: "s1", Reasons: []string{"r"}}}}, nil
}

func notifyLines(t *testing.T, log string) (retries, gaveUp []drift.NotifyLine) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		var l drift.NotifyLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("not JSON: %s", line)
		}
		switch l.Type {
		case "notify_retry":
			retries = append(retries, l)
		case "notify_error":
			gaveUp = append(gaveUp, l)
		}
	}
	return retries, gaveUp
}

// A webhook that fails N times and then answers gets the event on try N+1, each retry logged
// with its wait (doubling); one that never answers well is given up on after Attempts tries,
// and the log says so; a 4xx is not retried; the URL's token is in no line.
func TestNotifyRetries(t *testing.T) {
	policy := drift.RetryPolicy{Attempts: 4, Backoff: time.Millisecond, MaxBackoff: 50 * time.Millisecond}
	for _, c := range []struct {
		name          string
		failures      int32
		status        int
		calls         int32
		retries       int
		gaveUp        bool
		wantErrSubstr string
	}{
		{"recovers after 2 failures", 2, http.StatusServiceUnavailable, 3, 2, false, ""},
		{"recovers on the last try", 3, http.StatusBadGateway, 4, 3, false, ""},
		{"never recovers", 100, http.StatusInternalServerError, 4, 3, true, "gave up after 4 attempt(s)"},
		{"rate limited, then fine", 1, http.StatusTooManyRequests, 2, 1, false, ""},
		{"a 4xx is not retried", 100, http.StatusUnauthorized, 1, 0, true, "gave up after 1 attempt(s): notify: the webhook answered 401"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &flaky{fail: c.status}
			f.n.Store(c.failures)
			srv := httptest.NewServer(f)
			defer srv.Close()
			var log labtest.SyncBuffer
			loop := &drift.Loop{Check: driftOnce, Log: &log, NotifyURL: srv.URL + "/hook?token=s3cret", Retry: policy}
			if _, _, err := loop.Once(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := f.calls.Load(); got != c.calls {
				t.Errorf("%d POSTs, want %d", got, c.calls)
			}
			retries, gaveUp := notifyLines(t, log.String())
			if len(retries) != c.retries || (len(gaveUp) == 1) != c.gaveUp {
				t.Errorf("%d retry lines and %d give-up lines, want %d and gave up %v:\n%s", len(retries), len(gaveUp), c.retries, c.gaveUp, log.String())
			}
			for i, r := range retries {
				if want := min(float64(uint(1)<<i)*1e-3, 0.05); r.RetryIn != want || r.Attempt != i+1 || r.Cluster != "hq" {
					t.Errorf("retry %d: %+v, want a wait of %gs", i, r, want)
				}
			}
			if c.gaveUp && (!gaveUp[0].GaveUp || !strings.Contains(gaveUp[0].Error, c.wantErrSubstr)) {
				t.Errorf("give-up line %+v, want %q", gaveUp[0], c.wantErrSubstr)
			}
			if strings.Contains(log.String(), "s3cret") {
				t.Error("the webhook URL's token is in the log")
			}
		})
	}
}

// Retry-After is honoured up to MaxBackoff; stopping ends the waiting at once.
func TestNotifyRetryAfterAndStop(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	var log labtest.SyncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	loop := &drift.Loop{Check: driftOnce, Log: &log, NotifyURL: srv.URL, Retry: drift.RetryPolicy{Attempts: 5, Backoff: time.Millisecond, MaxBackoff: time.Hour}}
	done := make(chan struct{})
	go func() { _, _, _ = loop.Once(ctx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(log.String(), "notify_retry") {
		if time.Now().After(deadline) {
			t.Fatalf("no retry line:\n%s", log.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a stopped loop kept waiting to retry")
	}
	retries, gaveUp := notifyLines(t, log.String())
	if len(retries) != 1 || retries[0].RetryIn != 3600 || len(gaveUp) != 1 || !strings.Contains(gaveUp[0].Error, "stopping") {
		t.Errorf("log:\n%s", log.String())
	}
}

// A webhook that redirects is not followed (the event would go to a host --notify does not
// name): the other host gets nothing and the log says why, once. A webhook's status line with
// escapes and bidi controls reaches the log filtered. The control: the same server without
// the redirect gets the event.
func TestNotifyRedirectAndStatusText(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer other.Close()
	for _, c := range []struct {
		name     string
		redirect bool
	}{{"no redirect (control)", false}, {"redirect", true}} {
		t.Run(c.name, func(t *testing.T) {
			elsewhere.Store(0)
			url := other.URL + "/hook" // the control: the URL named is the one that answers
			if c.redirect {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, other.URL+"/stolen", http.StatusTemporaryRedirect)
				}))
				defer srv.Close()
				url = srv.URL + "/hook"
			}
			var log labtest.SyncBuffer
			loop := &drift.Loop{Check: driftOnce, Log: &log, NotifyURL: url, Retry: drift.RetryPolicy{Attempts: 2, Backoff: time.Millisecond}}
			if _, _, err := loop.Once(context.Background()); err != nil {
				t.Fatal(err)
			}
			_, gaveUp := notifyLines(t, log.String())
			if c.redirect {
				if elsewhere.Load() != 0 || len(gaveUp) != 1 || !strings.Contains(gaveUp[0].Error, "307 Temporary Redirect, a redirect, not followed") {
					t.Errorf("%d POST(s) reached the other host; log:\n%s", elsewhere.Load(), log.String())
				}
			} else if elsewhere.Load() != 1 || len(gaveUp) != 0 {
				t.Errorf("%d POST(s), want 1; log:\n%s", elsewhere.Load(), log.String())
			}
		})
	}

	// A status line written by hand, on loopback: C1 and bidi controls pass json.Marshal raw.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_, _ = http.ReadRequest(bufio.NewReader(conn))
				_, _ = io.WriteString(conn, "HTTP/1.1 403 \u009b2J\u202eForbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			}()
		}
	}()
	var log labtest.SyncBuffer
	loop := &drift.Loop{Check: driftOnce, Log: &log, NotifyURL: "http://" + ln.Addr().String() + "/hook", Retry: drift.RetryPolicy{Attempts: 1}}
	if _, _, err := loop.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := log.String(); strings.ContainsAny(s, "\u009b\u202e") || !strings.Contains(s, `403 \\u009b2J\\u202eForbidden`) {
		t.Errorf("the status line is not filtered in the log:\n%q", s)
	}
}
