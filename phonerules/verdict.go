package phonerules

import (
	"sort"

	"github.com/ctlops/ctlops/ctl"
)

// Verdict is what one model would do with a new CTL, offline.
type Verdict struct {
	Profile  Profile
	Decision Decision
}

// Verdicts says, for every known model (or the ones given), what a phone holding installed
// (nil: a new phone) and no ITL does with next: the offline check N2 asks for, for a plan to
// say which phones would refuse a change (a SHA-512 CTL on a 79xx, a signer change on models
// without Security by Default). AskTVS means "only SBD phones whose TVS knows the signer".
// Results are ordered by model name.
func Verdicts(installed, next *ctl.File, profiles ...Profile) []Verdict {
	if len(profiles) == 0 {
		for _, p := range Profiles {
			profiles = append(profiles, p)
		}
	}
	out := make([]Verdict, 0, len(profiles))
	for _, p := range profiles {
		out = append(out, Verdict{Profile: p, Decision: CTL(p, installed, nil, next)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Profile.Model < out[j].Profile.Model })
	return out
}

// Refusers returns the verdicts whose phones would not take next for sure: rejected, or left
// to TVS.
func Refusers(vs []Verdict) []Verdict {
	var out []Verdict
	for _, v := range vs {
		if v.Decision.Outcome == Reject || v.Decision.Outcome == AskTVS {
			out = append(out, v)
		}
	}
	return out
}
