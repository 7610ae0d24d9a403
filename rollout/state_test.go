package rollout

import (
	"strings"
	"testing"
)

func TestStateRoundTripAndRefusals(t *testing.T) {
	st := &State{Version: StateVersion, Cluster: "hq", Before: &Counts{Total: 2, Registered: 2}, Phones: []string{"SEPA", "SEPB"},
		TFTPDone: []string{"cm1"}, CallManagerDone: []string{"cm2"}, ModeChange: true, Deferred: []string{"SEPA"}, ResetDone: 1, Stopped: "cm3: ..."}
	enc, err := st.Encode()
	if err != nil || strings.Contains(enc, "\n") {
		t.Fatalf("%v %q", err, enc)
	}
	back, err := DecodeState(enc)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := back.Encode(); again != enc {
		t.Errorf("round trip:\n%s\n%s", enc, again)
	}
	for _, tc := range []struct{ data, want string }{
		{`{"version":2,"cluster":"hq"}`, "version 2"},
		{`{"version":1}`, "no cluster"},
		{`{"version":1,"cluster":"hq","reset_done":1}`, "without before counts"},
		{`{"version":1,"cluster":"hq","before":{"total":1},"phones":["A"],"reset_done":2}`, "reset_done 2 out of range"},
		{`{"version":1,"cluster":"hq","before":{"total":1},"phones":["B","A"]}`, "not sorted"},
		{`{"version":1,"cluster":"hq","before":{"total":1},"phones":["A","A"]}`, "listed twice"},
		{`{"version":1,"cluster":"hq","deferred":["A"]}`, "without before counts"},
		{`{"version":1,"cluster":"hq","before":{"total":1},"deferred":["A"]}`, "deferred phones without a mode change"},
		{`{"version":1,"cluster":"hq","before":{"total":1},"mode_change":true,"deferred":["B","A"]}`, "deferred not sorted"},
		{`{"version":1,"cluster":"hq","before":{"total":1},"mode_change":true,"deferred":["A","A"]}`, "listed twice"},
		{`{"version":1,"cluster":"hq","extra":1}`, "unknown field"},
		{`{"version":1,"cluster":"hq"} {}`, "data after"},
		{strings.Repeat(" ", MaxStateSize+1), "more than"},
	} {
		if _, err := DecodeState(tc.data); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.60s: %v, want %q", tc.data, err, tc.want)
		}
	}
}

func FuzzDecodeState(f *testing.F) {
	f.Add(`{"version":1,"cluster":"hq","before":{"total":2,"registered":2,"by_status":{"Registered":2},"by_protocol":{"SIP":2},"by_node":{"cm2":2}},"phones":["SEPA","SEPB"],"tftp_done":["cm1"],"reset_done":1}`)
	f.Add(`{"version":1,"cluster":"hq"}`)
	f.Add(`{"version":1,"cluster":"hq","before":{"total":2},"phones":["SEPA","SEPB"],"mode_change":true,"deferred":["SEPA"]}`)
	f.Fuzz(func(t *testing.T, data string) {
		st, err := DecodeState(data)
		if err != nil {
			return
		}
		enc, err := st.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeState(enc); err != nil {
			t.Fatalf("re-encoded state refused: %v", err)
		}
	})
}

func TestParseTolerance(t *testing.T) {
	for _, tc := range []struct {
		in      string
		n, want int
		bad     bool
	}{{"", 100, 0, false}, {"3", 100, 3, false}, {"2%", 100, 2, false}, {"2.5%", 1000, 25, false}, {"10%", 5, 0, false},
		{"-1", 0, 0, true}, {"101%", 0, 0, true}, {"x", 0, 0, true}, {"NaN%", 0, 0, true}} {
		tol, err := ParseTolerance(tc.in)
		if (err != nil) != tc.bad {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if !tc.bad && tol.Allowed(tc.n) != tc.want {
			t.Errorf("%q of %d: %d, want %d", tc.in, tc.n, tol.Allowed(tc.n), tc.want)
		}
	}
}

// A state written before mode_change and deferred existed loads, with ModeChange false; one
// without a mode change is written without the fields, as before.
func TestStateWithoutModeChangeFields(t *testing.T) {
	old := `{"version":1,"cluster":"hq","before":{"total":2,"registered":2,"by_status":{"Registered":2},"by_protocol":{"SIP":2},"by_node":{"cm2":2}},"phones":["SEPA","SEPB"],"tftp_done":["cm1"],"callmanager_done":["cm2"],"reset_done":1}`
	st, err := DecodeState(old)
	if err != nil {
		t.Fatal(err)
	}
	if st.ModeChange || st.Deferred != nil {
		t.Errorf("%+v", st)
	}
	if enc, _ := st.Encode(); enc != old {
		t.Errorf("re-encoded:\n%s\nwant\n%s", enc, old)
	}
}

func TestAddSorted(t *testing.T) {
	got := addSorted(nil, "c", "a")
	got = addSorted(got, "b", "a", "d")
	if strings.Join(got, ",") != "a,b,c,d" {
		t.Errorf("%v", got)
	}
}
