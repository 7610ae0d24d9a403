package rollout

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/ctlops/ctlops/cucm/serviceability"
	"github.com/ctlops/ctlops/internal/termsafe"
)

// Counts are a cluster's registration counts as RisPort70 reports them.
type Counts struct {
	Total      int            `json:"total"`
	Registered int            `json:"registered"`
	ByStatus   map[string]int `json:"by_status"`
	ByProtocol map[string]int `json:"by_protocol"` // registered phones
	ByNode     map[string]int `json:"by_node"`     // registered phones per node
}

// Count summarises merged phones (serviceability.SelectResult.Phones).
func Count(phones []serviceability.Phone) Counts {
	c := Counts{Total: len(phones), ByStatus: map[string]int{}, ByProtocol: map[string]int{}, ByNode: map[string]int{}}
	for _, p := range phones {
		c.ByStatus[string(p.Status)]++
		if p.Status == serviceability.Registered {
			c.Registered++
			c.ByProtocol[p.Protocol]++
			c.ByNode[p.Node]++
		}
	}
	return c
}

// String is one line: "12/12 registered (SIP 10, SCCP 2; cm2 7, cm3 5)".
func (c Counts) String() string {
	return fmt.Sprintf("%d/%d registered (%s; %s)", c.Registered, c.Total, joinCounts(c.ByProtocol), joinCounts(c.ByNode))
}

func joinCounts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = termsafe.Line(k) + " " + strconv.Itoa(m[k]) // a node's name as RisPort70 reported it
	}
	return strings.Join(parts, ", ")
}

// Tolerance is how many phones registered before may be missing after the rollout with the
// result still "applied": at most Count phones, or Percent of them, whichever is larger.
type Tolerance struct {
	Count   int
	Percent float64
}

// ParseTolerance reads "3" (phones) or "2%" (of the phones registered before).
func ParseTolerance(s string) (Tolerance, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Tolerance{}, nil
	}
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || v < 0 || v > 100 || math.IsNaN(v) {
			return Tolerance{}, fmt.Errorf("tolerance %q: want a percentage from 0%% to 100%%", s)
		}
		return Tolerance{Percent: v}, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return Tolerance{}, fmt.Errorf("tolerance %q: want a number of phones or a percentage such as 2%%", s)
	}
	return Tolerance{Count: v}, nil
}

// Allowed is the number of missing phones tolerated out of n.
func (t Tolerance) Allowed(n int) int {
	p := int(math.Floor(t.Percent * float64(n) / 100))
	if t.Count > p {
		return t.Count
	}
	return p
}

func (t Tolerance) String() string {
	if t.Percent > 0 && t.Count == 0 {
		return strconv.FormatFloat(t.Percent, 'f', -1, 64) + "%"
	}
	return strconv.Itoa(t.Count)
}

// missing lists the names in before that are not registered in now.
func missing(before []string, now []serviceability.Phone) []string {
	reg := map[string]bool{}
	for _, p := range now {
		if p.Status == serviceability.Registered {
			reg[p.Name] = true
		}
	}
	var out []string
	for _, n := range before {
		if !reg[n] {
			out = append(out, n)
		}
	}
	return out
}
