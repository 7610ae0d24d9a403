package platform

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// seeds adds every stored sample, and each in CRLF, to f.
func seeds(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "samples", "*.txt"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no samples: %v", err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
		f.Add(strings.ReplaceAll(string(b), "\n", "\r\n"))
	}
	f.Add("\x1b[")
	f.Add("CTL Record #:1 ---- BYTEPOS TAG LENGTH VALUE ------- --- ------ ----- 1 RECORDLENGTH 2")
}

// checkErr: an error names the command and is safe for a terminal (no raw control bytes).
func checkErr(t *testing.T, err error) {
	if err == nil {
		return
	}
	msg := err.Error()
	if !utf8.ValidString(msg) || strings.ContainsAny(msg, "\x1b\r\x00") {
		t.Fatalf("error carries unsafe bytes: %q", msg)
	}
}

// FuzzParsers feeds one input to every parser: none may panic, and errors stay printable.
func FuzzParsers(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		if c := Clean(s); strings.ContainsAny(c, "\r\x1b") && !strings.Contains(s, "\x1b") {
			t.Fatalf("Clean left a CR: %q", c)
		}
		_, err := ParseShowCTL(s)
		checkErr(t, err)
		_, err = ParseNetworkCluster(s)
		checkErr(t, err)
		_, err = ParseVersion(s)
		checkErr(t, err)
		_, err = ParseReplication(s)
		checkErr(t, err)
		_, err = ParseCertOwn(UnitCallManager, s)
		checkErr(t, err)
		checkErr(t, ParseServiceRestart(ServiceTFTP, s))
		checkErr(t, ParseCTLCommand(UpdateCTLFile, s))
		checkErr(t, CheckPrompt(SetMixedMode, s))
		_, err = ParseSecurityMode(s)
		checkErr(t, err)
	})
}

// FuzzLayout: a parse that succeeds on some text succeeds the same way on its collapsed and
// CRLF forms (layout never changes the answer).
func FuzzLayout(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		a, errA := ParseShowCTL(s)
		if errA != nil {
			return
		}
		b, errB := ParseShowCTL(strings.ReplaceAll(strings.Join(strings.Fields(s), " \n "), "\n", "\r\n"))
		if errB != nil {
			t.Fatalf("collapsed/CRLF form refused: %v", errB)
		}
		if len(a.Records) != len(b.Records) || a.MD5 != b.MD5 {
			t.Fatalf("layout changed the answer")
		}
	})
}
