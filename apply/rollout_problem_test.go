package apply

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ctlops/ctlops/rollout"
)

// The problem line of an incomplete rollout says where it stopped, then names each phone
// still missing once, whether the phones come from the step that stopped, the after counts,
// or both; a long list is cut, and names reach the terminal filtered.
func TestRolloutProblemNamesEachPhoneOnce(t *testing.T) {
	const nodeStop = "cm2: timed out after 10m0s"
	stoppedWith := func(phones ...string) string {
		return nodeStop + ": phones not registered again: " + strings.Join(phones, ", ")
	}
	var many []string
	for i := range 13 {
		many = append(many, fmt.Sprintf("SEP%012d", i))
	}
	after := &rollout.Counts{}
	cases := []struct {
		name   string
		rep    RolloutReport
		want   []string // substrings, in this order
		absent []string
		once   []string // named exactly once
	}{
		{name: "applied (control)", rep: RolloutReport{Status: rollout.Applied, After: after}},
		{name: "both sources name the same phones",
			rep: RolloutReport{Status: rollout.Incomplete, Stopped: stoppedWith("SEP1", "SEP2"), StopReason: nodeStop,
				StopPhones: []string{"SEP1", "SEP2"}, After: after, Missing: []string{"SEP1", "SEP2"}},
			want: []string{rollout.Incomplete + ": " + nodeStop + "; 2 phone(s) still not registered: SEP1, SEP2; continue with"},
			once: []string{"SEP1", "SEP2"}},
		{name: "both, one came back since the stop and another is missing elsewhere",
			rep: RolloutReport{Status: rollout.Incomplete, Stopped: stoppedWith("SEP1", "SEP2"), StopReason: nodeStop,
				StopPhones: []string{"SEP1", "SEP2"}, After: after, Missing: []string{"SEP2", "SEP3"}},
			want:   []string{nodeStop + "; 2 phone(s) still not registered: SEP2, SEP3;"},
			absent: []string{"SEP1"}, once: []string{"SEP2", "SEP3"}},
		{name: "only the stopping step (the after counts failed)",
			rep: RolloutReport{Status: rollout.Incomplete, Stopped: stoppedWith("SEP1"), StopReason: nodeStop,
				StopPhones: []string{"SEP1"}},
			want: []string{nodeStop + "; 1 phone(s) not registered again when it stopped (the after counts could not be read): SEP1;"},
			once: []string{"SEP1"}},
		{name: "only the after counts (beyond the tolerance, nothing stopped)",
			rep:  RolloutReport{Status: rollout.Incomplete, After: after, Missing: []string{"SEP7"}},
			want: []string{rollout.Incomplete + "; 1 phone(s) still not registered: SEP7;"},
			once: []string{"SEP7"}},
		{name: "a stop without phones, phones missing after",
			rep: RolloutReport{Status: rollout.Incomplete, Stopped: "cm2: Cisco CallManager did not reach Started: timed out",
				StopReason: "cm2: Cisco CallManager did not reach Started: timed out", After: after, Missing: []string{"SEP4"}},
			want: []string{"cm2: Cisco CallManager did not reach Started: timed out; 1 phone(s) still not registered: SEP4;"},
			once: []string{"SEP4"}},
		{name: "a long list is cut",
			rep: RolloutReport{Status: rollout.Incomplete, Stopped: stoppedWith(many...), StopReason: nodeStop,
				StopPhones: many, After: after, Missing: many},
			want:   []string{"; 13 phone(s) still not registered: " + strings.Join(many[:rollout.MaxNamed], ", ") + " and 3 more;"},
			absent: many[rollout.MaxNamed:], once: many[:rollout.MaxNamed]},
		{name: "names and the reason are filtered",
			rep: RolloutReport{Status: rollout.Incomplete, Stopped: "cm2: \x1b[2J", StopReason: "cm2: \x1b[2J",
				After: after, Missing: []string{"SEP\x1b]0;x\a"}},
			want:   []string{`cm2: \x1b[2J; 1 phone(s) still not registered: SEP\x1b]0;x\a;`},
			absent: []string{"\x1b", "\a"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := rolloutProblem(&tc.rep)
			if tc.rep.Status == rollout.Applied {
				if got != "" {
					t.Fatalf("applied: %q", got)
				}
				return
			}
			rest := got
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("%q\nlacks %q", got, w)
				}
				rest = rest[i+len(w):]
			}
			for _, a := range tc.absent {
				if strings.Contains(got, a) {
					t.Errorf("%q\nhas %q", got, a)
				}
			}
			for _, o := range tc.once {
				if n := strings.Count(got, o); n != 1 {
					t.Errorf("%q\nnames %s %d times", got, o, n)
				}
			}
			if !strings.HasSuffix(got, "`ctlops apply --resume-rollout` (nothing is signed or pushed again)") {
				t.Errorf("%q: no way on", got)
			}
		})
	}
}

// TestRolloutEventsBoundPhones: the progress lines that list phones ("not registered: …", a
// reset batch) name at most rollout.MaxNamed of them and count the rest, as the problem line
// does: a cluster has thousands of phones. ("STOPPED: …" shows the stop's text, which rollout
// bounds: TestStopTextBoundsPhones.)
func TestRolloutEventsBoundPhones(t *testing.T) {
	var many []string
	for i := range 500 {
		many = append(many, fmt.Sprintf("SEP%012d", i))
	}
	for _, e := range []rollout.Progress{
		{Kind: rollout.KindCounts, Phase: "after", Counts: &rollout.Counts{}, Phones: many},
		{Kind: rollout.KindBatchReset, Batch: 1, Batches: 1, Phones: many},
	} {
		var b strings.Builder
		writeRolloutEvent(&b, e)
		out := b.String()
		if !strings.Contains(out, many[rollout.MaxNamed-1]) || strings.Contains(out, many[rollout.MaxNamed]) ||
			!strings.Contains(out, fmt.Sprintf(" and %d more", len(many)-rollout.MaxNamed)) {
			t.Errorf("kind %v: want the first %d phones named and the rest counted:\n%.300s", e.Kind, rollout.MaxNamed, out)
		}
	}
}
