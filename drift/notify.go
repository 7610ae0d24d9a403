package drift

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ctlops/ctlops/internal/termsafe"
)

// RetryPolicy says how a webhook notification that failed is tried again: a pager that misses
// one POST to a brief outage would never hear of the drift, since a drift state is reported
// once. Only failures that may pass are retried (no answer, 5xx, 429); a 4xx says the request
// itself is wrong and is not retried.
type RetryPolicy struct {
	// Attempts is the number of tries in all (default 4).
	Attempts int
	// Backoff is the wait before the second try, doubled for each further one (default 2 s), and
	// MaxBackoff caps a wait, a Retry-After answer's included (default 30 s).
	Backoff, MaxBackoff time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Attempts <= 0 {
		p.Attempts = 4
	}
	if p.Backoff <= 0 {
		p.Backoff = 2 * time.Second
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = 30 * time.Second
	}
	return p
}

// NotifyLine is logged for each retry ("notify_retry") and when ctlops gives up on an event
// ("notify_error", GaveUp true). It never names the URL: webhook URLs often carry a token.
type NotifyLine struct {
	Type     string    `json:"type"`
	Time     time.Time `json:"time"`
	Cluster  string    `json:"cluster"`
	Event    string    `json:"event"`
	Attempt  int       `json:"attempt"`
	Attempts int       `json:"attempts"`
	RetryIn  float64   `json:"retry_in_seconds,omitempty"`
	GaveUp   bool      `json:"gave_up,omitempty"`
	Error    string    `json:"error"`
}

// notify POSTs one event, retrying by l.Retry, and logs each retry and a final failure. It
// returns whether the webhook took the event.
func (l *Loop) notify(ctx context.Context, e Change) bool {
	p := l.Retry.withDefaults()
	wait := p.Backoff
	for attempt := 1; ; attempt++ {
		retryAfter, err := l.post(ctx, e)
		if err == nil {
			return true
		}
		line := NotifyLine{Time: time.Now().UTC(), Cluster: e.Cluster, Event: e.Type, Attempt: attempt, Attempts: p.Attempts, Error: err.Error()}
		var perm permanentError
		if attempt >= p.Attempts || errors.As(err, &perm) || ctx.Err() != nil {
			line.Type, line.GaveUp = "notify_error", true
			line.Error = fmt.Sprintf("gave up after %d attempt(s): %v", attempt, err)
			l.logJSON(line)
			return false
		}
		d := min(max(wait, retryAfter), p.MaxBackoff)
		line.Type, line.RetryIn = "notify_retry", d.Seconds()
		l.logJSON(line)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			l.logJSON(NotifyLine{Type: "notify_error", Time: time.Now().UTC(), Cluster: e.Cluster, Event: e.Type, Attempt: attempt,
				Attempts: p.Attempts, GaveUp: true, Error: "gave up: stopping (" + err.Error() + ")"})
			return false
		case <-t.C:
		}
		wait *= 2
	}
}

// permanentError is a failure that trying again cannot fix.
type permanentError struct{ error }

// post makes one attempt. Its error never names the URL. retryAfter is the server's
// Retry-After, when it gave one in seconds.
func (l *Loop) post(ctx context.Context, e Change) (retryAfter time.Duration, err error) {
	body, err := json.Marshal(e)
	if err != nil {
		return 0, permanentError{err}
	}
	c := &http.Client{Timeout: 10 * time.Second}
	if l.HTTP != nil {
		c = new(http.Client)
		*c = *l.HTTP
	}
	// A redirect is not followed: it would take the event to a host the --notify URL does
	// not name. The 3xx is the answer.
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.NotifyURL, bytes.NewReader(body))
	if err != nil {
		return 0, permanentError{errors.New("notify: invalid URL")}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ctlops-drift")
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error's text holds the URL
		}
		return 0, fmt.Errorf("notify: %s", termsafe.Line(err.Error())) // a TLS error quotes the server's names
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	status := termsafe.Line(resp.Status[:min(len(resp.Status), 128)]) // the server's words
	switch {
	case resp.StatusCode/100 == 2:
		return 0, nil
	case resp.StatusCode/100 == 3:
		return 0, permanentError{fmt.Errorf("notify: the webhook answered %s, a redirect, not followed: give --notify the URL the event should go to", status)}
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode/100 == 5:
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			retryAfter = time.Duration(s) * time.Second
		}
		return retryAfter, fmt.Errorf("notify: the webhook answered %s", status)
	default:
		return 0, permanentError{fmt.Errorf("notify: the webhook answered %s", status)}
	}
}

// ValidateNotifyURL refuses what cannot be a webhook before the first check runs. Its error
// does not quote the URL, which may hold a token.
func ValidateNotifyURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("--notify: want an http:// or https:// URL")
	}
	return nil
}
