package rollout

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ctlops/ctlops/cucm/serviceability"
)

// TestStopTextBoundsPhones: a node that did not come back stops with a text (apply's
// "STOPPED: …" line, Result.Stopped) that names at most MaxNamed phones and counts the rest;
// the stop keeps every phone for the resumed rollout and the problem line.
func TestStopTextBoundsPhones(t *testing.T) {
	var many []string
	for i := range 500 {
		many = append(many, fmt.Sprintf("SEP%012d", i))
	}
	var events []Progress
	r := &runner{opt: Options{Emit: func(e Progress) { events = append(events, e) }}}
	s := r.nodeFailed(Node{Name: "cm2"}, "Cisco CallManager", serviceability.ServiceStatus(""), many, errors.New("timed out"))
	for _, text := range []string{s.text, events[0].Err} {
		if !strings.Contains(text, many[MaxNamed-1]) || strings.Contains(text, many[MaxNamed]) ||
			!strings.Contains(text, fmt.Sprintf(" and %d more", len(many)-MaxNamed)) {
			t.Errorf("want the first %d phones named and the rest counted:\n%.300s", MaxNamed, text)
		}
	}
	if len(s.phones) != len(many) {
		t.Errorf("the stop keeps %d phones, want all %d", len(s.phones), len(many))
	}
	if got := NameList([]string{"SEP1", "SEP\x1b[2J"}); got != `SEP1, SEP\x1b[2J` {
		t.Errorf("NameList: %q", got)
	}
}
