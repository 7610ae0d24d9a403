package plan

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/ctlops/ctlops/internal/termsafe"
)

// Registration is a cluster's phone registration counts as RisPort70 selectCmDevice reported
// them on the publisher while the plan was made (issue 16: "Before: registration counts per
// node and per cluster"), where the cluster declares its serviceability endpoints. Package
// live reads them; the plan only carries them. They are what the phones' state was, not part
// of what the plan does: `apply PLANFILE` does not compare them (file.go), and drift does not
// judge them.
type Registration struct {
	// From is the node asked (the publisher's name in the serviceability block).
	From string `json:"from"`
	// Total is every phone RisPort70 knows; Registered those registered to some node.
	Total      int `json:"total"`
	Registered int `json:"registered"`
	// ByStatus counts the phones by RisPort70 status (Registered, UnRegistered, Rejected, ...).
	ByStatus map[string]int `json:"by_status"`
	// ByProtocol counts the registered phones by protocol (SIP, SCCP).
	ByProtocol map[string]int `json:"by_protocol"`
	// ByNode counts the registered phones by the node they are registered to.
	ByNode map[string]int `json:"by_node"`
}

// String is one line: "12/12 registered (SIP 10, SCCP 2; cm2 7, cm3 5)", the words of the
// rollout's counts, so that the plan's and apply's "before" read alike.
func (r *Registration) String() string {
	s := fmt.Sprintf("%d/%d registered (%s; %s)", r.Registered, r.Total, countList(r.ByProtocol), countList(r.ByNode))
	var other []string
	for _, k := range sortedKeys(r.ByStatus) {
		if k != "Registered" {
			other = append(other, k+" "+strconv.Itoa(r.ByStatus[k]))
		}
	}
	if len(other) > 0 {
		s += ", not registered: " + strings.Join(other, ", ")
	}
	return s
}

func countList(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, termsafe.Line(k)+" "+strconv.Itoa(m[k]))
	}
	return strings.Join(parts, ", ")
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// registration carries the counts live read into the plan; a failed read is a warning, never
// a refusal: the counts inform the reviewer, the CTL does not depend on them.
func (b *builder) registration() {
	l := b.live
	if l.RegistrationError != "" {
		b.warn(Problem{Kind: RegistrationUnread, Server: l.RegistrationFrom, Detail: l.RegistrationError})
	}
	if l.Registration != nil {
		r := *l.Registration
		b.p.Registration = &r
	}
}

// dropRegistration takes the registration counts, and the warning that they could not be
// read, out of what `apply PLANFILE` compares: phones register and drop all day, and the
// counts are the reviewer's information, not what was approved (the rollout counts again
// before it restarts anything).
func dropRegistration(tree map[string]any) {
	clusters, _ := tree["clusters"].(map[string]any)
	for _, c := range clusters {
		cm, _ := c.(map[string]any)
		if cm == nil {
			continue
		}
		delete(cm, "registration")
		warnings, _ := cm["warnings"].([]any)
		kept := []any{}
		for _, w := range warnings {
			if wm, ok := w.(map[string]any); ok && wm["kind"] == string(RegistrationUnread) {
				continue
			}
			kept = append(kept, w)
		}
		if warnings != nil {
			cm["warnings"] = kept
		}
	}
}
