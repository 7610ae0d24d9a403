package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctlops/ctlops/ctl"
)

// What a command reports about a file reaches the terminal through the terminal filter: a
// file's name (one a spec in a pull request names, or a path a CI job builds) must not be able
// to move the cursor or clear the screen. validate prints its report on stdout; plan returns
// the error that main prints. The control (a plain name) shows the same text, nothing escaped.
func TestFileErrorsReachTheTerminalFiltered(t *testing.T) {
	dir := t.TempDir()
	for _, cmd := range []string{"validate", "plan"} {
		for _, tc := range []struct {
			name, file, want string
		}{
			{"plain name (control)", dir + "/missing.yaml", dir + "/missing.yaml: no such file"},
			{"escapes in the name", dir + "/\x1b[2Jmissing\u202e.yaml", dir + `/\x1b[2Jmissing\u202e.yaml: no such file`},
		} {
			t.Run(cmd+"/"+tc.name, func(t *testing.T) {
				code, out, errs := runCLI(t, nil, cmd, "-f", tc.file)
				if code == 0 {
					t.Fatalf("%s of a missing file exited 0", cmd)
				}
				if all := out + errs; !strings.Contains(all, tc.want) {
					t.Errorf("output %q does not name %q", all, tc.want)
				}
				if strings.ContainsAny(out+errs, "\x1b\u202e") {
					t.Errorf("output holds raw control characters: %q %q", out, errs)
				}
			})
		}
	}
}

// A spec's warnings name its files too (a dir:// provider's directory that is not here):
// plan prints them on stderr through the terminal filter. The control: a plain name.
func TestSpecWarningsReachTheTerminalFiltered(t *testing.T) {
	for _, tc := range []struct{ name, dir, shown string }{
		{"plain name (control)", "nothere", "nothere does not exist here"},
		{"escapes in the name", `\x1b[2Jnothere\u202e`, `\x1b[2Jnothere\u202e does not exist here`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, n := range []string{"token1.pem", "token2.pem"} {
				b, err := os.ReadFile(filepath.Join("..", "..", "spec", "testdata", "certs", n))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			y := "version: 1\nclusters:\n  - name: c\n    mode: mixed\n    providers: [{url: \"dir://" + dir + "/" + tc.dir + "\"}]\n" +
				"    tokens:\n      - {name: a, certificate: token1.pem}\n      - {name: b, certificate: token2.pem}\n"
			path := filepath.Join(dir, "ctlops.yaml")
			if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
				t.Fatal(err)
			}
			_, out, errs := runCLI(t, nil, "plan", "-f", path)
			if !strings.Contains(errs, tc.shown) || strings.ContainsAny(out+errs, "\x1b\u202e") {
				t.Errorf("plan's stderr does not name %q filtered:\n%q", tc.shown, errs)
			}
		})
	}
}

// The JSON views quote files and servers as well: encoding/json leaves C1 controls and bidi
// overrides raw, so inspect --format json escapes them, and the JSON says the same. The
// control: a plain name.
func TestInspectJSONEscaped(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "ctl", "testdata", "SCFFile.tlv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, dns string }{
		{"plain name (control)", "cm3.example.com"},
		{"a C1 control and a bidi override", "cm3\u009b2J\u202e.example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ctl.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			f.Records[2].DNSName = tc.dns
			b, err := f.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			_, out, _ := runCLI(t, b, "inspect", "--format", "json", "-")
			var v struct {
				Records []struct {
					DNSName *string `json:"dnsName"`
				} `json:"records"`
			}
			if err := json.Unmarshal([]byte(out), &v); err != nil || len(v.Records) < 3 || v.Records[2].DNSName == nil || *v.Records[2].DNSName != tc.dns {
				t.Fatalf("inspect's JSON does not say the name (%v):\n%s", err, out)
			}
			if strings.ContainsAny(out, "\u009b\u202e") {
				t.Errorf("inspect's JSON holds raw controls: %q", out)
			}
		})
	}
}
