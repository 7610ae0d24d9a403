package plan_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/spec"
)

func counts() *plan.Registration {
	return &plan.Registration{From: "mpub", Total: 4, Registered: 3,
		ByStatus:   map[string]int{"Registered": 3, "UnRegistered": 1},
		ByProtocol: map[string]int{"SIP": 2, "SCCP": 1},
		ByNode:     map[string]int{"mpub": 1, "msub": 2}}
}

// The registration counts live read are carried by the plan as data and shown in every view
// (issue 16); a plan without them shows none (the control).
func TestRegistrationRendered(t *testing.T) {
	c := &spec.Cluster{Name: "metro", Signing: spec.SigningTokenless, Mode: spec.ModeMixed}
	views := func(l *plan.Live) (string, string, map[string]any) {
		p := &plan.Plan{FormatVersion: plan.FormatVersion, Clusters: []*plan.Cluster{plan.Build(c, l, time.Now())}}
		var txt, md, js bytes.Buffer
		if err := p.WriteText(&txt, plan.TextOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := p.WriteMarkdown(&md, plan.MarkdownOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := p.WriteJSON(&js); err != nil {
			t.Fatal(err)
		}
		var tree struct{ Clusters []map[string]any }
		if err := json.Unmarshal(js.Bytes(), &tree); err != nil {
			t.Fatal(err)
		}
		return txt.String(), md.String(), tree.Clusters[0]
	}
	const line = "3/4 registered (SCCP 1, SIP 2; mpub 1, msub 2), not registered: UnRegistered 1"
	l := tokenlessLive(t)
	l.Registration = counts()
	txt, md, js := views(l)
	if !strings.Contains(txt, "Phones before apply (RisPort70 on mpub): "+line+"\n") {
		t.Errorf("text:\n%s", txt)
	}
	if !strings.Contains(md, "Phones before apply (RisPort70 on `mpub`): "+line+".") {
		t.Errorf("markdown:\n%s", md)
	}
	reg, _ := js["registration"].(map[string]any)
	if reg == nil || reg["registered"] != float64(3) || reg["total"] != float64(4) ||
		reg["by_node"].(map[string]any)["msub"] != float64(2) || reg["by_protocol"].(map[string]any)["SCCP"] != float64(1) {
		t.Errorf("json registration: %v", js["registration"])
	}

	txt, md, js = views(tokenlessLive(t))
	if strings.Contains(txt, "Phones before apply") || strings.Contains(md, "Phones before apply") || js["registration"] != nil {
		t.Errorf("counts shown without a read:\n%s\n%s", txt, md)
	}
}

// A saved plan stays the plan when only the phones' registration moved, or the counts could
// not be read this time: `apply PLANFILE` compares what was approved, not the phones. A
// warning of another kind still makes it differ (the control).
func TestRegistrationNotCompared(t *testing.T) {
	c := &spec.Cluster{Name: "metro", Signing: spec.SigningTokenless, Mode: spec.ModeMixed}
	l := tokenlessLive(t)
	now := time.Now()
	l.Registration = counts()
	saved := &plan.Plan{Clusters: []*plan.Cluster{plan.Build(c, l, now)}}

	l.Registration = counts()
	l.Registration.Registered, l.Registration.ByNode["msub"] = 2, 1
	if why := plan.Compare(saved, &plan.Plan{Clusters: []*plan.Cluster{plan.Build(c, l, now)}}); len(why) > 0 {
		t.Errorf("other counts: %v", why)
	}
	l.Registration, l.RegistrationFrom, l.RegistrationError = nil, "mpub", "mpub: RisPort70 selectCmDevice: HTTP 503"
	if why := plan.Compare(saved, &plan.Plan{Clusters: []*plan.Cluster{plan.Build(c, l, now)}}); len(why) > 0 {
		t.Errorf("counts unread: %v", why)
	}
	l.RegistrationError = ""
	c.ExpiryWarning = 400 * 24 * time.Hour // tokenlessLive's certificates end in 365 days
	fresh := &plan.Plan{Clusters: []*plan.Cluster{plan.Build(c, l, now)}}
	if why := plan.Compare(saved, fresh); len(why) == 0 {
		t.Errorf("another warning (%+v) is not seen as a difference", fresh.Clusters[0].Warnings)
	}
}
