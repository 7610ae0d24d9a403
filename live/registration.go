package live

import (
	"context"
	"unicode/utf8"

	"github.com/ctlops/ctlops/cucm/serviceability"
	"github.com/ctlops/ctlops/internal/termsafe"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/spec"
)

// Bounds on what a RisPort70 answer can put into a plan: the names it gives (protocols,
// nodes) are untrusted, so each is sanitised and clipped, and a map holds at most
// maxCountKeys of them, the rest counted under "other".
const (
	maxCountKeys = 64
	maxCountKey  = 64 // characters
)

// registrations asks RisPort70 selectCmDevice on the publisher, where the cluster declares
// its serviceability endpoints, for every phone's registration state, and counts them for
// the plan (issue 16: "Before: registration counts per node and per cluster"). It only reads
// (serviceability.RisReader has no write); the query is bounded by RisPort70's page size, a
// page limit, the answer size limit and the fetch's timeout per request. A failure is
// recorded for a warning, never an error: the CTL does not depend on the phones.
func (f *fetcher) registrations(ctx context.Context, c *spec.Cluster, l *plan.Live) {
	pub, opt, ok, err := f.serviceabilityOptions(c) // live/serviceability.go
	if !ok {
		return
	}
	l.RegistrationFrom = pub.Name
	if err != nil {
		l.RegistrationError = err.Error()
		return
	}
	r, err := serviceability.NewRisReader(pub.URL(), opt)
	if err != nil {
		l.RegistrationError = termsafe.Line(err.Error())
		return
	}
	defer r.Close()
	if f.opt.Timeout > 0 {
		// Every page of the answer within one request's time: best effort, never a long wait.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.opt.Timeout)
		defer cancel()
	}
	var res *serviceability.SelectResult
	err = f.do(ctx, func(ctx context.Context) error {
		var err error
		res, err = r.SelectCmDevice(ctx, serviceability.Criteria{})
		return err
	})
	if err != nil {
		l.RegistrationError = termsafe.Line(err.Error())
		return
	}
	l.Registration = CountRegistrations(pub.Name, res.Phones())
}

// CountRegistrations turns merged phones (serviceability.SelectResult.Phones) into the plan's
// counts: by status for every phone, by protocol and by node for the registered ones.
func CountRegistrations(from string, phones []serviceability.Phone) *plan.Registration {
	r := &plan.Registration{From: from, Total: len(phones), ByStatus: map[string]int{}, ByProtocol: map[string]int{}, ByNode: map[string]int{}}
	for _, p := range phones {
		add(r.ByStatus, string(p.Status))
		if p.Status == serviceability.Registered {
			r.Registered++
			add(r.ByProtocol, p.Protocol)
			add(r.ByNode, p.Node)
		}
	}
	return r
}

// add counts one under key, sanitised and clipped, within maxCountKeys keys.
func add(m map[string]int, key string) {
	key = termsafe.Line(key)
	if utf8.RuneCountInString(key) > maxCountKey {
		key = string([]rune(key)[:maxCountKey]) + "…"
	}
	if key == "" {
		key = "(none)"
	}
	if _, ok := m[key]; !ok && len(m) >= maxCountKeys {
		key = "other"
	}
	m[key]++
}
