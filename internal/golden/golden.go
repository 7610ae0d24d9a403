// Package golden is the one golden-file helper of the tests: compare output with a file under
// testdata/, and rewrite the files with `go test ./pkg -update`. It reports the first line
// that differs, with both versions, so a failure says where to look.
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Update is the -update flag of every test binary that uses this package.
var Update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// Check compares got with testdata/name (rewriting it first with -update).
func Check(t testing.TB, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *Update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if got == string(want) {
		return
	}
	line, g, w := FirstDifference(got, string(want))
	t.Errorf("%s differs from the golden file at line %d (go test -update rewrites it):\n got: %s\nwant: %s", path, line, g, w)
}

// FirstDifference returns the 1-based number of the first line where a and b differ, and
// that line of each ("(end)" past the end).
func FirstDifference(a, b string) (int, string, string) {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	i := 0
	for i < len(al) && i < len(bl) && al[i] == bl[i] {
		i++
	}
	at := func(ls []string) string {
		if i < len(ls) {
			return ls[i]
		}
		return "(end)"
	}
	return i + 1, at(al), at(bl)
}
