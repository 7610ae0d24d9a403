package main

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/json"
	"encoding/pem"
	"fmt"
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

// Issue 17: checksums as show ctl prints them, expiry marks, titles, 1-based numbering.
func TestInspectChecksumsExpiryTitles(t *testing.T) {
	data, err := os.ReadFile(scf)
	if err != nil {
		t.Fatal(err)
	}
	m, s1, s2 := md5.Sum(data), sha1.Sum(data), sha256.Sum256(data)
	code, out, errs := runCLI(t, nil, "inspect", scf, itl)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		fmt.Sprintf("Checksum:        %x(MD5) %x(SHA1)\n", m, s1),
		fmt.Sprintf("SHA-256:         %x\n", s2),
		"==> " + scf + " <==\n", "==> " + itl + " <==\n",
		"Certificate:     record 1 (SAST gigantic-6): EXPIRED",
		"Signature:       valid (signed by record 1)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// A window wide enough reaches the ITL's roots (2035-2036); the default does not.
	if strings.Contains(out, "expires soon") {
		t.Errorf("default window marked a certificate expiring soon:\n%s", out)
	}
	_, out, _ = runCLI(t, nil, "inspect", "--expiry-window", "7300d", itl)
	if !strings.Contains(out, "expires soon") {
		t.Errorf("--expiry-window 7300d marked nothing:\n%s", out)
	}
	if code, _, errs := runCLI(t, nil, "inspect", "--expiry-window", "soon", itl); code == 0 || !strings.Contains(errs, "--expiry-window") {
		t.Errorf("bad window: exit %d, %q", code, errs)
	}
	_, out, _ = runCLI(t, nil, "inspect", "--format", "json", scf)
	var one struct {
		SignerRecord int    `json:"signerRecord"`
		MD5          string `json:"md5"`
		Records      []struct {
			Record int    `json:"record"`
			Expiry string `json:"expiry"`
		} `json:"records"`
	}
	if err := json.Unmarshal([]byte(out), &one); err != nil {
		t.Fatal(err)
	}
	if one.SignerRecord != 1 || one.Records[0].Record != 1 || one.Records[5].Record != 6 || one.Records[0].Expiry != "expired" || one.MD5 != fmt.Sprintf("%x", m) {
		t.Errorf("json: signerRecord %d, records %+v, md5 %s", one.SignerRecord, one.Records, one.MD5)
	}
}

func TestInspectExportCerts(t *testing.T) {
	// A directory that does not exist yet is made (as `--out DIR` of import is), not an error
	// per certificate.
	dir := filepath.Join(t.TempDir(), "certs")
	code, out, errs := runCLI(t, nil, "inspect", "--export-certs", dir, scf)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*.pem"))
	if len(names) != 6 || !strings.Contains(out, "01-SAST-gigantic-6.pem") {
		t.Fatalf("exported %v\n%s", names, out)
	}
	b, _ := os.ReadFile(names[0])
	if blk, _ := pem.Decode(b); blk == nil || blk.Type != "CERTIFICATE" {
		t.Fatalf("%s is not a PEM certificate", names[0])
	}
	// Again: nothing is overwritten, each file is named, and the exit status says so.
	before, _ := os.Stat(names[0])
	code, _, errs = runCLI(t, nil, "inspect", "--export-certs", dir, scf)
	if code != 1 || strings.Count(errs, "exists: not overwritten") != 6 {
		t.Fatalf("second export: exit %d, %q", code, errs)
	}
	if after, _ := os.Stat(names[0]); !after.ModTime().Equal(before.ModTime()) {
		t.Error("an existing file was rewritten")
	}
}
