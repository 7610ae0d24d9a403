package drift

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/ctlops/ctlops/internal/atomicfile"
	"github.com/ctlops/ctlops/internal/termsafe"
)

// Loop runs drift checks once or on a schedule and publishes each result: one JSON line per
// check on Log, one more per drift state change, the latest full result in ReportFile, the
// metrics in MetricsFile (and whoever serves Metrics.Handler), and each state change POSTed
// as JSON to NotifyURL.
type Loop struct {
	// Check runs one drift check (Check with the spec and options bound).
	Check       func(ctx context.Context) (*Result, error)
	Every       time.Duration
	Log         io.Writer
	ReportFile  string
	Metrics     *Metrics
	MetricsFile string
	NotifyURL   string
	// HTTP posts notifications; a client with a 10 s timeout when nil.
	HTTP *http.Client
	// Retry is how a failed notification is retried (notify.go); the zero value is the default.
	Retry RetryPolicy

	tracker *Tracker
	mu      sync.Mutex // serialises writes to Log
}

// CheckLine is the JSON line logged for every check.
type CheckLine struct {
	Type     string            `json:"type"` // "check"
	Time     time.Time         `json:"time"`
	Duration float64           `json:"duration_seconds"`
	Shard    string            `json:"shard,omitempty"`
	Clusters int               `json:"clusters"`
	Drift    []string          `json:"drift"`
	Errors   map[string]string `json:"errors,omitempty"`
}

// Once runs one check and publishes it; the error is the check's or a publishing failure
// (report or metrics file), never a failed notification (logged and retried at the next
// change: a webhook outage must not stop drift checks).
func (l *Loop) Once(ctx context.Context) (*Result, []Change, error) {
	if l.tracker == nil {
		l.tracker = NewTracker()
	}
	r, err := l.Check(ctx)
	if err != nil {
		return nil, nil, err
	}
	line := CheckLine{Type: "check", Time: r.Time, Duration: r.Duration, Shard: r.Shard, Clusters: len(r.Clusters), Drift: []string{}}
	for _, c := range r.Clusters {
		if c.Error != "" {
			if line.Errors == nil {
				line.Errors = map[string]string{}
			}
			line.Errors[c.Name] = c.Error
		} else if c.Drift {
			line.Drift = append(line.Drift, c.Name)
		}
	}
	sort.Strings(line.Drift)
	l.logJSON(line)
	events := l.tracker.Observe(r)
	for _, e := range events {
		l.logJSON(e)
	}
	var errs []error
	if l.Metrics != nil {
		l.Metrics.Update(r)
		if l.MetricsFile != "" {
			if err := l.Metrics.WriteFile(l.MetricsFile); err != nil {
				errs = append(errs, fmt.Errorf("--metrics: %w", err))
			}
		}
	}
	if l.ReportFile != "" {
		b, err := json.MarshalIndent(r, "", "  ")
		if err == nil {
			err = atomicfile.Write(l.ReportFile, append(b, '\n'), 0o644) // world-readable: dashboards run as other users; no secret in it
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("--report: %w", err))
		}
	}
	if l.NotifyURL != "" {
		for _, e := range events {
			l.notify(ctx, e)
		}
	}
	return r, events, errors.Join(errs...)
}

// Run checks every l.Every until ctx ends. A failed check is logged and the loop goes on: a
// scheduler that dies on the first unreachable server reports nothing at all.
func (l *Loop) Run(ctx context.Context) error {
	if l.Every <= 0 {
		return errors.New("the interval must be positive")
	}
	t := time.NewTicker(l.Every)
	defer t.Stop()
	for {
		if _, _, err := l.Once(ctx); err != nil && ctx.Err() == nil {
			l.logJSON(map[string]any{"type": "error", "time": time.Now().UTC(), "error": err.Error()})
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (l *Loop) logJSON(v any) {
	if l.Log == nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	b = termsafe.JSON(b) // the lines quote servers, and a log is read on terminals
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.Log.Write(append(b, '\n'))
}
