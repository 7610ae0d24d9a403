package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	scf = "../../ctl/testdata/SCFFile.tlv"
	itl = "../../ctl/testdata/ciscoprovsionerweb-ITLFile.tlv"
)

// runCLI runs ctlops in-process and returns its exit status and streams.
func runCLI(t *testing.T, stdin []byte, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, bytes.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestInspectSample(t *testing.T) {
	code, out, errs := runCLI(t, nil, "inspect", scf)
	if code != 0 || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	for _, want := range []string{"Records:         6", "Signer:          CN=gigantic-6.cisco.com", "Signature:       valid (signed by record 1)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	var roles []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "  Function:") {
			roles = append(roles, strings.Fields(l)[1])
		}
	}
	if got := strings.Join(roles, " "); got != "SAST CCM+TFTP CCM+TFTP CAPF SAST CCM+TFTP" {
		t.Errorf("roles: %s", got)
	}
}

func TestInspectJSON(t *testing.T) {
	data, err := os.ReadFile(itl)
	if err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLI(t, data, "inspect", "--format", "json", "-")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var one map[string]any
	if err := json.Unmarshal([]byte(out), &one); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, out)
	}
	if one["file"] != "-" || one["signatureValid"] != true || one["hashAlgorithm"] != "sha1" {
		t.Errorf("file %v, signatureValid %v, hash %v", one["file"], one["signatureValid"], one["hashAlgorithm"])
	}
	recs := one["records"].([]any)
	if len(recs) != 5 || recs[0].(map[string]any)["dnsName"] != nil {
		t.Errorf("records: %d, first dnsName %v (certutils writes none: want null)", len(recs), recs[0].(map[string]any)["dnsName"])
	}

	code, out, _ = runCLI(t, nil, "inspect", "--format", "json", scf, itl)
	var many []map[string]any
	if err := json.Unmarshal([]byte(out), &many); err != nil || len(many) != 2 || code != 0 {
		t.Fatalf("two files: exit %d, err %v, %d objects", code, err, len(many))
	}
}

func TestInspectFailures(t *testing.T) {
	dir := t.TempDir()
	orig, err := os.ReadFile(scf)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(name string, off int) string {
		b := append([]byte(nil), orig...)
		b[off] ^= 0xFF
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badSig := flip("sig.tlv", 4000)  // inside record 4's certificate: signature fails
	badLen := flip("len.tlv", 312+3) // record 1's length: parse fails
	cases := []struct {
		name string
		args []string
		want []string // lines on stderr, each containing these
	}{
		{"signature", []string{"inspect", badSig}, []string{"sig.tlv: signature: signature does not verify"}},
		{"structure", []string{"inspect", badLen}, []string{"len.tlv: record 1, offset 312, tag 1"}},
		{"one bad of two", []string{"inspect", scf, badLen}, []string{"len.tlv"}},
		{"missing", []string{"inspect", filepath.Join(dir, "nope.tlv")}, []string{"nope.tlv: open"}},
		{"R19", []string{"inspect", "--installed", scf, itl}, []string{"not a SAST record of the installed file (R19)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errs := runCLI(t, nil, c.args...)
			if code != 1 {
				t.Fatalf("exit %d, want 1", code)
			}
			lines := strings.Split(strings.TrimSpace(errs), "\n")
			if len(lines) != len(c.want) {
				t.Fatalf("stderr has %d lines, want %d: %q", len(lines), len(c.want), errs)
			}
			for i, w := range c.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("stderr line %q lacks %q", lines[i], w)
				}
			}
		})
	}
}

func TestInspectInstalledAccepts(t *testing.T) {
	code, out, errs := runCLI(t, nil, "inspect", "--installed", scf, scf)
	if code != 0 || !strings.Contains(out, "accept this file (R19)") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
}
