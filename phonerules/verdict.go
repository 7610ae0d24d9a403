package phonerules

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ctlops/ctlops/ctl"
)

// Verdict is what one model would do with a new CTL, offline.
type Verdict struct {
	Profile  Profile
	Decision Decision
}

// Takes reports whether the phone installs the file for sure: imprinted or accepted. AskTVS
// does not count: ctlops never promises what depends on a TVS it cannot see (N2).
func (v Verdict) Takes() bool {
	return v.Decision.Outcome == Imprint || v.Decision.Outcome == Accept
}

// All returns every known model profile, ordered by model name: the default fleet of a
// cluster that names none, the safest assumption (every model's limits apply).
func All() []Profile {
	out := make([]Profile, 0, len(Profiles))
	for _, p := range Profiles {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Model < out[j].Model })
	return out
}

// Models resolves model names (short "7960" or CUCM's "CP-7960G") to profiles; none means
// All. Duplicates are dropped.
func Models(names []string) ([]Profile, error) {
	if len(names) == 0 {
		return All(), nil
	}
	var out []Profile
	seen := map[string]bool{}
	for _, n := range names {
		p, err := Lookup(n)
		if err != nil {
			return nil, err
		}
		if !seen[p.Model] {
			seen[p.Model] = true
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Model < out[j].Model })
	return out, nil
}

// Verdicts says, for every known model (or the ones given), what a phone holding installed
// (nil: a new phone) and no ITL does with next: the offline check N2 asks for, for a plan to
// say which phones would refuse a change (a SHA-512 CTL on a 79xx, a signer change on models
// without Security by Default). AskTVS means "only SBD phones whose TVS knows the signer".
// Results are ordered by model name.
func Verdicts(installed, next *ctl.File, profiles ...Profile) []Verdict {
	if len(profiles) == 0 {
		profiles = All()
	}
	out := make([]Verdict, 0, len(profiles))
	for _, p := range profiles {
		out = append(out, Verdict{Profile: p, Decision: CTL(p, installed, nil, next)})
	}
	sortVerdicts(out)
	return out
}

// Planned is Verdicts for a CTL not signed yet, known by its signer and digest (the plan's
// "can be signed by"): the same decision (Signed) that CTL takes once the file exists.
func Planned(installed *ctl.File, s Signing, profiles ...Profile) []Verdict {
	if len(profiles) == 0 {
		profiles = All()
	}
	out := make([]Verdict, 0, len(profiles))
	for _, p := range profiles {
		out = append(out, Verdict{Profile: p, Decision: Signed(p, installed, nil, s)})
	}
	sortVerdicts(out)
	return out
}

func sortVerdicts(vs []Verdict) {
	sort.Slice(vs, func(i, j int) bool { return vs[i].Profile.Model < vs[j].Profile.Model })
}

// Refusers returns the verdicts whose phones would not take next for sure: rejected, or left
// to TVS.
func Refusers(vs []Verdict) []Verdict {
	var out []Verdict
	for _, v := range vs {
		if !v.Takes() {
			out = append(out, v)
		}
	}
	return out
}

// Refusal is nil when every model takes the file, else an error naming each model that
// would not, with the deciding rule and why: what apply's pre-push check, resign and
// inspect --installed say, so that they and the plan say the same.
func Refusal(vs []Verdict) error {
	r := Refusers(vs)
	if len(r) == 0 {
		return nil
	}
	parts := make([]string, 0, len(r))
	for _, v := range r {
		parts = append(parts, v.String())
	}
	return fmt.Errorf("phones would not take the file: %s", strings.Join(parts, "; "))
}

// String is one model's verdict in a sentence: "CP-7960G (79xx): reject, needs a manual
// erase (P17): …".
func (v Verdict) String() string {
	what := v.Decision.Outcome.String()
	switch {
	case v.Decision.NeedsErase:
		what = "refuses it until its trust list is erased by hand"
	case v.Decision.Outcome == Reject:
		what = "refuses it"
	case v.Decision.Outcome == AskTVS:
		what = "takes it only if TVS vouches for the signer"
	case v.Decision.Outcome == Imprint:
		what = "imprints it"
	case v.Decision.Outcome == Accept:
		what = "accepts it"
	}
	return fmt.Sprintf("%s (%s) %s (%s: %s)", v.Profile.Model, v.Profile.Series, what, v.Decision.Rule, v.Decision.Reason)
}
