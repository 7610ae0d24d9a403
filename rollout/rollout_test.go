package rollout

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctlops/ctlops/cucm/serviceability"
	"github.com/ctlops/ctlops/lab/servicesim"
)

const (
	user = "axladmin"
	pass = "lab-Pa55word"
)

type lab struct {
	sim    *servicesim.Cluster
	dev    *servicesim.MemDevices
	c      Cluster
	mu     sync.Mutex
	events []Progress
}

// newLab starts a three-node cluster on loopback: cm1 publisher (TFTP, no phones), cm2 and
// cm3 subscribers each with phones whose group fails over to the other.
func newLab(t *testing.T, password map[string]string) *lab {
	t.Helper()
	cert, pool, err := servicesim.NewCert("hq", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	var phones []servicesim.MemPhone
	for i, g := range [][]string{{"cm2", "cm3"}, {"cm2", "cm3"}, {"cm3", "cm2"}, {"cm3", "cm2"}} {
		name := "SEP00000000000" + string(rune('1'+i))
		phones = append(phones, servicesim.MemPhone{Phone: servicesim.Phone{Name: name, Model: 36213, Protocol: "SIP", IP: "127.0.0.1"}, Group: g, TFTP: "cm1"})
	}
	dev := servicesim.NewMemDevices(phones)
	dev.Delay = 25 * time.Millisecond
	noTFTP := []string{serviceability.ServiceCallManager, "Cisco CTIManager"}
	sim, err := servicesim.Start(servicesim.Config{
		Cluster: "hq", Username: user, Password: pass, Cert: cert, Devices: dev,
		StopTime: 30 * time.Millisecond, StartTime: 30 * time.Millisecond,
		Nodes: []servicesim.NodeConfig{{Name: "cm1", Publisher: true}, {Name: "cm2", Services: noTFTP}, {Name: "cm3", Services: noTFTP}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close(); dev.Close() })
	l := &lab{sim: sim, dev: dev}
	client := func(node string) *serviceability.Client {
		p := pass
		if v, ok := password[node]; ok {
			p = v
		}
		c, err := serviceability.New(sim.URL(node), serviceability.Options{Node: node, Username: user, Password: p, RootCAs: pool, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.CloseIdleConnections)
		return c
	}
	pub := client("cm1")
	l.c = Cluster{Name: "hq", Registry: pub, Resetter: pub, Nodes: []Node{
		{Name: "cm1", Publisher: true, Services: pub}, {Name: "cm2", Services: client("cm2")}, {Name: "cm3", Services: client("cm3")},
	}}
	return l
}

func (l *lab) opts(o Options) Options {
	o.Poll = 5 * time.Millisecond
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	o.Emit = func(e Progress) {
		l.mu.Lock()
		l.events = append(l.events, e)
		l.mu.Unlock()
	}
	return o
}

// steps renders the events that matter for order as short strings.
func (l *lab) steps() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.events {
		switch e.Kind {
		case KindServiceRestart, KindServiceStarted, KindServiceSkipped:
			out = append(out, string(e.Kind)+" "+e.Node+" "+e.Service)
		case KindPhonesReturned, KindBatchRegistered, KindBatchReset:
			out = append(out, string(e.Kind)+" "+e.Node+" "+strings.Join(e.Phones, ","))
		case KindCounts:
			out = append(out, "counts "+e.Phase+" "+e.Counts.String())
		}
	}
	return out
}

func (l *lab) dropped(phone string) int {
	n := 0
	for _, c := range l.dev.Changes() {
		if c.Phone == phone && c.Status == servicesim.UnRegistered {
			n++
		}
	}
	return n
}

func TestFullRollout(t *testing.T) {
	l := newLab(t, nil)
	res, err := Run(context.Background(), l.c, l.opts(Options{RestartServices: true, ResetDevices: true, Batch: 2}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != Applied || res.Stopped != "" || len(res.Missing) != 0 || !res.State.Complete {
		t.Fatalf("%+v", res)
	}
	want := []string{
		"counts before 4/4 registered (SIP 4; cm2 2, cm3 2)",
		"service-restart cm1 Cisco Tftp", "service-started cm1 Cisco Tftp",
		"service-skipped cm2 Cisco Tftp", "service-skipped cm3 Cisco Tftp",
		"service-restart cm2 Cisco CallManager", "service-started cm2 Cisco CallManager",
		"phones-returned cm2 SEP000000000001,SEP000000000002",
		"service-restart cm3 Cisco CallManager", "service-started cm3 Cisco CallManager",
		"phones-returned cm3 (see below)",
		"service-restart cm1 Cisco CallManager", "service-started cm1 Cisco CallManager",
		"phones-returned cm1 ",
		"batch-reset  SEP000000000001,SEP000000000002", "batch-registered  SEP000000000001,SEP000000000002",
		"batch-reset  SEP000000000003,SEP000000000004", "batch-registered  SEP000000000003,SEP000000000004",
	}
	got := l.steps()
	// cm3's phones, and cm2's if they had not fallen back to cm2 yet when cm3 was next: they
	// are on cm3 then, drop again and are waited for again. Which happens depends on timing.
	const cm3 = "phones-returned cm3 "
	if len(got) > 10 && strings.HasPrefix(got[10], cm3) {
		list := strings.TrimPrefix(got[10], cm3)
		if list != "SEP000000000003,SEP000000000004" && list != "SEP000000000001,SEP000000000002,SEP000000000003,SEP000000000004" {
			t.Errorf("cm3 waited for %s", list)
		}
		got[10] = cm3 + "(see below)"
	}
	if len(got) < len(want) || !reflect.DeepEqual(got[:len(want)], want) {
		t.Errorf("steps:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if last := got[len(got)-1]; !strings.HasPrefix(last, "counts after 4/4 registered (SIP 4;") {
		t.Errorf("last step %q", last)
	}
	// The phones really dropped: once for their node's restart (cm2's maybe again on cm3),
	// once for their reset.
	if n := l.dropped("SEP000000000003"); n != 2 {
		t.Errorf("SEP000000000003 dropped %d times, want 2", n)
	}
	if n := l.dropped("SEP000000000001"); n != 2 && n != 3 {
		t.Errorf("SEP000000000001 dropped %d times, want 2 or 3", n)
	}
	// The service went through every state, and cm3 was touched only after cm2 was back.
	var cm []string
	for _, tr := range l.sim.History() {
		if tr.Service == serviceability.ServiceCallManager {
			cm = append(cm, tr.Node+":"+string(tr.Status))
		}
	}
	if strings.Join(cm, " ") != "cm2:Stopping cm2:Stopped cm2:Starting cm2:Started cm3:Stopping cm3:Stopped cm3:Starting cm3:Started cm1:Stopping cm1:Stopped cm1:Starting cm1:Started" {
		t.Errorf("CallManager history %v", cm)
	}
}

func TestPublisherFirst(t *testing.T) {
	l := newLab(t, nil)
	if _, err := Run(context.Background(), l.c, l.opts(Options{RestartServices: true, PublisherFirst: true}), nil); err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, tr := range l.sim.History() {
		if tr.Service == serviceability.ServiceCallManager && tr.Status == serviceability.Stopping {
			order = append(order, tr.Node)
		}
	}
	if strings.Join(order, ",") != "cm1,cm2,cm3" {
		t.Errorf("order %v", order)
	}
}

// A node whose CallManager does not come back stops the rollout there; the publisher is left
// untouched, and a resumed rollout finishes the rest without redoing cm2.
func TestNodeDoesNotComeBackThenResume(t *testing.T) {
	l := newLab(t, nil)
	l.sim.Stick("cm3", serviceability.ServiceCallManager, true)
	var saved string
	opt := l.opts(Options{RestartServices: true, Timeout: 400 * time.Millisecond})
	opt.Save = func(s *State) error {
		var err error
		saved, err = s.Encode()
		return err
	}
	res, err := Run(context.Background(), l.c, opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != Incomplete || !strings.Contains(res.Stopped, "cm3: Cisco CallManager did not reach Started: timed out") {
		t.Fatalf("%+v", res)
	}
	if res.StopReason != res.Stopped || res.StopPhones != nil { // a stop that names no phone (control)
		t.Errorf("stop reason %q, phones %v", res.StopReason, res.StopPhones)
	}
	for _, tr := range l.sim.History() {
		if tr.Node == "cm1" && tr.Service == serviceability.ServiceCallManager {
			t.Fatalf("publisher touched: %v", tr)
		}
	}
	st, err := DecodeState(saved)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(st.CallManagerDone, []string{"cm2"}) || !reflect.DeepEqual(st.TFTPDone, []string{"cm1", "cm2", "cm3"}) || st.Complete ||
		!strings.Contains(st.Stopped, "cm3") {
		t.Fatalf("state %+v", st)
	}

	l.sim.Stick("cm3", serviceability.ServiceCallManager, false)
	l.events = nil
	eventually(t, func() bool { return l.sim.Status("cm3", serviceability.ServiceCallManager) == serviceability.Started })
	before := len(l.sim.History())
	opt.Timeout = 5 * time.Second
	res, err = Run(context.Background(), l.c, opt, st)
	if err != nil || res.Status != Applied {
		t.Fatalf("%v %+v", err, res)
	}
	var redone []string
	for _, tr := range l.sim.History()[before:] {
		if tr.Status == serviceability.Stopping {
			redone = append(redone, tr.Node+" "+tr.Service)
		}
	}
	if strings.Join(redone, ",") != "cm3 Cisco CallManager,cm1 Cisco CallManager" {
		t.Errorf("resumed restarts %v", redone)
	}
}

// A batch that does not come back stops the resets there, naming its phone; later batches
// are not reset.
func TestBatchDoesNotComeBack(t *testing.T) {
	l := newLab(t, nil)
	l.dev.Break("SEP000000000002")
	res, err := Run(context.Background(), l.c, l.opts(Options{ResetDevices: true, Batch: 1, Timeout: 300 * time.Millisecond}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != Incomplete || !strings.Contains(res.Stopped, "batch 2/4: phones not registered again: SEP000000000002") {
		t.Fatalf("%+v", res)
	}
	if !reflect.DeepEqual(res.Missing, []string{"SEP000000000002"}) || res.State.ResetDone != 1 {
		t.Errorf("missing %v, reset done %d", res.Missing, res.State.ResetDone)
	}
	// The reason without the phones, and the phones apart, for a problem line naming each once.
	if !strings.HasPrefix(res.StopReason, "batch 2/4: timed out") || strings.Contains(res.StopReason, "SEP") ||
		!reflect.DeepEqual(res.StopPhones, []string{"SEP000000000002"}) {
		t.Errorf("stop reason %q, phones %v", res.StopReason, res.StopPhones)
	}
	if n := l.dropped("SEP000000000003"); n != 0 {
		t.Errorf("a phone of a later batch was reset")
	}
	if n := l.dropped("SEP000000000001"); n != 1 {
		t.Errorf("first batch dropped %d times", n)
	}
}

// Interrupted (Ctrl-C, kill) after the first batch, the rollout resumes from its recorded
// state with the second batch, never resetting the first again.
func TestResumeAfterInterruption(t *testing.T) {
	l := newLab(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var saved string
	opt := l.opts(Options{ResetDevices: true, Batch: 2})
	emit := opt.Emit
	opt.Emit = func(e Progress) {
		emit(e)
		if e.Kind == KindBatchRegistered && e.Batch == 1 {
			cancel() // the process dies here; only the saved state survives
		}
	}
	opt.Save = func(s *State) error { saved, _ = s.Encode(); return nil }
	res, err := Run(ctx, l.c, opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != Incomplete {
		t.Fatalf("%+v", res)
	}
	st, err := DecodeState(saved)
	if err != nil || st.ResetDone != 2 || st.Complete {
		t.Fatalf("%v %+v", err, st)
	}
	opt.Emit = emit
	res, err = Run(context.Background(), l.c, opt, st)
	if err != nil || res.Status != Applied {
		t.Fatalf("%v %+v", err, res)
	}
	for p, want := range map[string]int{"SEP000000000001": 1, "SEP000000000002": 1, "SEP000000000003": 1, "SEP000000000004": 1} {
		if n := l.dropped(p); n != want {
			t.Errorf("%s reset %d times, want %d", p, n, want)
		}
	}
	if res.Before.Registered != 4 || res.After.Registered != 4 {
		t.Errorf("before %v after %v", res.Before, res.After)
	}
}

// Refused credentials stop at once, naming the node, before anything is restarted.
func TestSOAPFaultsStopTheRollout(t *testing.T) {
	l := newLab(t, map[string]string{"cm2": "wrong"})
	start := time.Now()
	res, err := Run(context.Background(), l.c, l.opts(Options{RestartServices: true, Timeout: 20 * time.Second}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != Incomplete || !strings.HasPrefix(res.Stopped, "cm2: Control Center soapGetServiceStatus: HTTP 401") {
		t.Fatalf("%+v", res)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("a 401 was retried until the timeout")
	}
	for _, tr := range l.sim.History() {
		if tr.Service == serviceability.ServiceCallManager {
			t.Errorf("CallManager touched: %v", tr)
		}
	}

	// An AXL fault on a reset names the phone and the fault string.
	l2 := newLab(t, nil)
	l2.c.Resetter = faultyResetter{}
	res, err = Run(context.Background(), l2.c, l2.opts(Options{ResetDevices: true}), nil)
	if err != nil || !strings.Contains(res.Stopped, "reset SEP000000000001: cm1: AXL doDeviceReset: SOAP fault") {
		t.Fatalf("%v %+v", err, res)
	}
}

type faultyResetter struct{}

func (faultyResetter) DoDeviceReset(context.Context, string) error {
	return &serviceability.Error{Node: "cm1", Service: "AXL", Operation: "doDeviceReset",
		Err: &serviceability.Fault{FaultCode: "soapenv:Client", FaultString: "Item not valid"}}
}

// fakeRegistry answers from a list that the test changes.
type fakeRegistry struct {
	mu     sync.Mutex
	phones []serviceability.Phone
	err    error
}

func (f *fakeRegistry) SelectCmDevice(context.Context, serviceability.Criteria) (*serviceability.SelectResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	res := &serviceability.SelectResult{TotalDevicesFound: len(f.phones), Nodes: []serviceability.CmNode{{Name: "cm2", ReturnCode: "Ok"}}}
	for _, p := range f.phones {
		res.Nodes[0].Devices = append(res.Nodes[0].Devices, serviceability.Device{Name: p.Name, Status: p.Status, Protocol: "SIP"})
	}
	return res, nil
}

func TestToleranceDecidesTheResult(t *testing.T) {
	phones := func(up int) []serviceability.Phone {
		var out []serviceability.Phone
		for i := 0; i < 10; i++ {
			st := serviceability.UnRegistered
			if i < up {
				st = serviceability.Registered
			}
			out = append(out, serviceability.Phone{Name: "SEP" + string(rune('A'+i)), Status: st})
		}
		return out
	}
	for _, tc := range []struct {
		tol    string
		after  int
		status string
	}{{"", 10, Applied}, {"", 9, Incomplete}, {"1", 9, Applied}, {"1", 8, Incomplete}, {"20%", 8, Applied}, {"19%", 8, Incomplete}} {
		reg := &fakeRegistry{phones: phones(10)}
		tol, err := ParseTolerance(tc.tol)
		if err != nil {
			t.Fatal(err)
		}
		st := &State{Version: StateVersion, Cluster: "hq"}
		opt := Options{Tolerance: tol, Save: func(s *State) error {
			if s.Before != nil && !s.Complete { // after the before counts, phones go missing
				reg.mu.Lock()
				reg.phones = phones(tc.after)
				reg.mu.Unlock()
			}
			return nil
		}}
		res, err := Run(context.Background(), Cluster{Name: "hq", Registry: reg}, opt, st)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != tc.status || len(res.Missing) != 10-tc.after {
			t.Errorf("tolerance %q, %d back: %s, missing %v", tc.tol, tc.after, res.Status, res.Missing)
		}
	}
	if _, err := Run(context.Background(), Cluster{Name: "hq", Registry: &fakeRegistry{err: errors.New("boom")}}, Options{}, nil); err == nil ||
		!strings.Contains(err.Error(), "hq: before counts: boom") {
		t.Errorf("before counts failing: %v", err)
	}
	if _, err := Run(context.Background(), Cluster{Name: "hq", Registry: &fakeRegistry{}}, Options{}, &State{Version: 1, Cluster: "br"}); err == nil {
		t.Error("state of another cluster accepted")
	}
}

func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
