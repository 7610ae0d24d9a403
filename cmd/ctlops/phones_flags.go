package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/internal/termsafe"
	"github.com/ctlops/ctlops/phonerules"
)

// phoneModelsFlag parses --phone-models (comma-separated, phonerules names); "" is nil: every
// known model, whose refusals are then reported but do not fail the command.
func phoneModelsFlag(v string) ([]phonerules.Profile, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	var names []string
	for _, n := range strings.Split(v, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	ps, err := phonerules.Models(names)
	if err != nil {
		return nil, fmt.Errorf("--phone-models: %w", err)
	}
	return ps, nil
}

// phoneVerdict is one model's verdict as inspect --format json shows it.
type phoneVerdict struct {
	Model      string `json:"model"`
	Series     string `json:"series"`
	Outcome    string `json:"outcome"` // imprint, accept, ask-tvs, reject
	Rule       string `json:"rule"`
	NeedsErase bool   `json:"needsErase,omitempty"`
	Reason     string `json:"reason"`
}

// inspectPhones is what each phone model holding installed would do with f (phonerules, the
// decision plan, apply and the lab phones take); problem is set when one of the models named
// by --phone-models would not take it.
func inspectPhones(installed, f *ctl.File, models []phonerules.Profile) (out []phoneVerdict, problem string) {
	vs := phonerules.Verdicts(installed, f, models...)
	for _, v := range vs {
		out = append(out, phoneVerdict{Model: v.Profile.Model, Series: v.Profile.Series, Outcome: v.Decision.Outcome.String(),
			Rule: v.Decision.Rule, NeedsErase: v.Decision.NeedsErase, Reason: v.Decision.Reason})
	}
	if len(models) > 0 {
		if err := phonerules.Refusal(vs); err != nil {
			problem = err.Error()
		}
	}
	return out, problem
}

func writePhoneVerdicts(w io.Writer, vs []phoneVerdict) {
	if len(vs) == 0 {
		return
	}
	fmt.Fprintln(w, "Phones holding the installed file (by model):")
	for _, v := range vs {
		what := v.Outcome
		if v.NeedsErase {
			what += ", needs a manual erase"
		}
		fmt.Fprintf(w, "  %-9s %-5s %s (%s: %s)\n", v.Model, v.Series, what, v.Rule, termsafe.Line(v.Reason))
	}
}
