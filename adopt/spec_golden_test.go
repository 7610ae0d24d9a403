package adopt

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/ctlops/ctlops/ctl"
)

// The spec import writes for the real CUCM file read from tftp://192.0.2.10 (the reader is
// replaced by the parsed file, the clock fixed): the review copy of what adopting means.
func TestImportSpecGolden(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "ctl", "testdata", "SCFFile.tlv"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := ctl.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	src, err := parseSource("tftp://192.0.2.10")
	if err != nil {
		t.Fatal(err)
	}
	r := &read{data: data, dataFrom: src.open, file: f}
	c, files, res, err := build(Options{PasswordEnv: DefaultPasswordEnv}, []source{src}, r)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Tokenless || res.Cluster != "gigantic-6" || len(files) != 2 {
		t.Fatalf("result %+v, %d files", res, len(files))
	}
	doc, err := c.document([]string{"Written by `ctlops import` on 2026-01-01 from tftp://192.0.2.10:69."})
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "golden", "SCFFile.ctlops.yaml")
	if *update {
		os.WriteFile(golden, doc, 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./adopt -run ImportSpecGolden -update)", err)
	}
	if !bytes.Equal(doc, want) {
		t.Fatalf("the spec differs from %s:\n%s", golden, doc)
	}
}
