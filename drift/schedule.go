package drift

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/ctlops/ctlops/internal/termsafe"
)

// Schedule is how `ctlops drift` runs: once, or every interval with its outputs. It holds
// the decisions that used to live in the CLI, so that the command only parses flags.
type Schedule struct {
	Every  time.Duration
	Listen string // serve /metrics here while running (needs Every)
	Format string // one-shot output: "text" or "json"
}

// Validate checks the schedule before anything is read.
func (s Schedule) Validate() error {
	switch {
	case s.Format != "text" && s.Format != "json":
		return fmt.Errorf("--format %q: want text or json", s.Format)
	case s.Every < 0 || (s.Every > 0 && s.Every < time.Second):
		return errors.New("--every: want at least 1s")
	case s.Listen != "" && s.Every == 0:
		return errors.New("--listen serves metrics while drift keeps running: give --every too")
	}
	return nil
}

// WriteJSON renders the result as indented JSON, the --format json view.
func (r *Result) WriteJSON(w io.Writer) error {
	return termsafe.WriteJSON(w, r) // servers' words, escaped for a terminal, the same values
}

// Write renders a one-shot result in the schedule's format.
func (s Schedule) Write(w io.Writer, r *Result) error {
	if s.Format == "json" {
		return r.WriteJSON(w)
	}
	return r.WriteText(w)
}

// ServeMetrics serves the loop's metrics at http://addr/metrics until stop is called; it
// returns the address listened on (addr may name port 0).
func (l *Loop) ServeMetrics(addr string) (net.Addr, func(), error) {
	if l.Metrics == nil {
		l.Metrics = NewMetrics()
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("--listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", l.Metrics.Handler())
	srv := newMetricsServer(mux)
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr(), func() { _ = srv.Close() }, nil
}

// The limits of the --listen server. Whoever can reach ADDR can connect (it may listen
// beyond loopback), and drift keeps running for days: a client that sends its request slowly,
// never reads the answer, keeps an idle connection open or sends megabytes of headers must
// not hold a connection or memory for long. A scrape is a small GET answered with a few
// kilobytes, so each limit is far above what Prometheus needs.
const (
	metricsReadHeaderTimeout = 10 * time.Second // the request line and headers
	metricsReadTimeout       = 15 * time.Second // the whole request (a GET has no body)
	metricsWriteTimeout      = 30 * time.Second // from the end of the headers to the end of the answer
	metricsIdleTimeout       = 60 * time.Second // a kept-alive connection between scrapes
	metricsMaxHeaderBytes    = 16 << 10         // request line and headers; larger gets 431
)

// newMetricsServer is the --listen server of h, with the limits above.
func newMetricsServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: metricsReadHeaderTimeout,
		ReadTimeout:       metricsReadTimeout,
		WriteTimeout:      metricsWriteTimeout,
		IdleTimeout:       metricsIdleTimeout,
		MaxHeaderBytes:    metricsMaxHeaderBytes,
	}
}
