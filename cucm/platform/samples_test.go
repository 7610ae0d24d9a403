package platform

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// sample is one verbatim block of CUCM-INTERFACES.md §2 (testdata/samples) and how to read
// it. edit removes what the reference's author added (captions, "[…elided…]" markers, a log
// prefix): CUCM never prints those, and each edit says why. Blocks not here are not answers
// of a command ctlops runs: 14 (a TVS trace log), 22 (a SQL query without output), 25
// (`utils update dst`), 27 (`utils dbreplication status`, which only starts a background job).
type sample struct {
	file  string
	parse func(string) (any, error)
	edit  func(string) string
}

var elisionRE = regexp.MustCompile(`\[(?:…|\.\.\.)[^\]]*\]`)

func dropElisions(s string) string { return elisionRE.ReplaceAllString(s, " ") }

func from(marker string) func(string) string {
	return func(s string) string { return s[strings.Index(s, marker):] }
}

func samples() []sample {
	showCTL := func(s string) (any, error) { return ParseShowCTL(s) }
	cluster := func(s string) (any, error) { return ParseNetworkCluster(s) }
	ctlCmd := func(c CTLCommand) func(string) (any, error) {
		return func(s string) (any, error) { return "ok", ParseCTLCommand(c, s) }
	}
	banner := func(s string) (any, error) {
		b, ok := SplitBanner(s)
		return map[string]any{"banner": Flat(b), "prompt": ok}, nil
	}
	return []sample{
		{file: "00-banner-devnet.txt", parse: banner},
		{file: "01-banner-warning.txt", parse: banner},
		// The paramiko log prefixes lines with timestamps; the answer starts at the version.
		{file: "02-paramiko-log-11.5.txt", parse: func(s string) (any, error) { return ParseVersion(s) }, edit: from("Active Master Version")},
		{file: "03-showctl-none-10.5.txt", parse: showCTL},
		{file: "04-showctl-checksum-only.txt", parse: showCTL, edit: dropElisions},
		{file: "05-showctl-tokenless-10.5.1.txt", parse: showCTL, edit: dropElisions},
		{file: "06-showctl-etoken-record.txt", parse: func(s string) (any, error) {
			b := splitBlocks(strings.Fields(Flat(s)))
			if len(b[0]) != 0 {
				return nil, unknown(cmdShowCTL, "text before the record", strings.Join(b[0], " "))
			}
			recs, verified, err := records(b[1:])
			return map[string]any{"records": recs, "verified": verified}, err
		}},
		// Records 1 and 2 were elided by the reference as "[… SAST eToken records 1 and 2 …]".
		{file: "07-showctl-nonsecure-10.0.1.txt", parse: showCTL, edit: func(s string) string {
			return dropElisions(strings.Replace(s, "CTL Record #:1 [… SAST eToken records 1 and 2 …]", "", 1))
		}},
		// A third-party tool's output, not CUCM's: must be refused, quoted.
		{file: "08-scfparser-12x-not-cucm.txt", parse: showCTL},
		{file: "09-mixedmode-10.5.1.txt", parse: ctlCmd(SetMixedMode)},
		{file: "10-mixedmode-12x.txt", parse: ctlCmd(SetMixedMode)},
		{file: "11-sql-securitymode.txt", parse: func(s string) (any, error) {
			m, err := ParseSecurityMode(s)
			return map[string]bool{"mixed": m}, err
		}},
		{file: "12-nonsecure-10.0.1.txt", parse: ctlCmd(SetNonSecureMode)},
		{file: "13-updatectl-10.5.1.txt", parse: ctlCmd(UpdateCTLFile)},
		{file: "15-file-delete-then-showctl.txt", parse: showCTL, edit: from("admin:show ctl")},
		{file: "16-cluster-10.5.2-pub.txt", parse: cluster},
		{file: "17-cluster-10.5.2-sub.txt", parse: cluster},
		{file: "18-cluster-dynamic.txt", parse: cluster},
		{file: "19-cluster-15-single.txt", parse: cluster},
		{file: "20-cluster-imp.txt", parse: cluster},
		// "From SSH CLI" is the TN's caption. The sample is partial (no PEM): refused.
		{file: "21-certown-partial.txt", parse: func(s string) (any, error) {
			c, err := ParseCertOwn(UnitCallManager, s)
			if err != nil {
				return nil, err
			}
			return c.Subject.String(), nil
		}, edit: from("admin:")},
		{file: "23-restart-xcp.txt", parse: func(s string) (any, error) {
			return "ok", ParseServiceRestart("Cisco XCP Text Conference Manager", s)
		}},
		{file: "24-restart-finesse.txt", parse: func(s string) (any, error) {
			return "ok", ParseServiceRestart("Cisco Finesse Tomcat", s)
		}},
		{file: "26-version-15.txt", parse: func(s string) (any, error) { return ParseVersion(s) }},
		{file: "28-replication-10.5.2.txt", parse: func(s string) (any, error) {
			r, err := ParseReplication(s)
			if err != nil {
				return nil, err
			}
			ok, why := r.Healthy()
			return map[string]any{"state": r, "healthy": ok, "why": why}, nil
		}},
	}
}

// layouts are the ways one answer reaches a parser: as stored, collapsed to one line, with
// CRLF, with lone CR, with VT100 escapes, and with a pager line between two lines.
var layouts = map[string]func(string) string{
	"asis":      func(s string) string { return s },
	"collapsed": func(s string) string { return strings.Join(strings.Fields(s), " ") },
	"crlf":      func(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") },
	"lonecr":    func(s string) string { return strings.ReplaceAll(s, "\n", "\r") },
	"ansi": func(s string) string {
		s = strings.ReplaceAll(s, "admin:", "\x1b[0m\x1b[24;1Hadmin:")
		return "\x1b[?1h\x1b=" + strings.ReplaceAll(s, "\n", "\x1b[K\r\n\r") + "\x1b[0m"
	},
	"pager": func(s string) string {
		// Between two tokens near the middle, as the pager would stop between two lines.
		f := strings.Fields(s)
		m := len(f) / 2
		return strings.Join(f[:m], " ") + "\r\noptions: q=quit, n=next, p=prev, b=begin, e=end (lines 1 - 20 of 90) :\r" + strings.Join(f[m:], " ")
	},
}

func render(v any, err error) []byte {
	if err != nil {
		b, _ := json.MarshalIndent(map[string]string{"error": err.Error()}, "", "  ")
		return append(b, '\n')
	}
	b, jerr := json.MarshalIndent(map[string]any{"result": v}, "", "  ")
	if jerr != nil {
		panic(jerr)
	}
	return append(b, '\n')
}

// TestSamples parses every stored §2 sample in every layout: all layouts of one sample give
// the same answer, and that answer is the golden file.
func TestSamples(t *testing.T) {
	for _, sm := range samples() {
		raw, err := os.ReadFile(filepath.Join("testdata", "samples", sm.file))
		if err != nil {
			t.Fatal(err)
		}
		text := string(raw)
		if sm.edit != nil {
			text = sm.edit(text)
		}
		golden := filepath.Join("testdata", "golden", strings.TrimSuffix(sm.file, ".txt")+".json")
		want := render(sm.parse(text))
		if *update {
			if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		g, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%s: %v (run with -update)", sm.file, err)
		}
		for name, lay := range layouts {
			t.Run(sm.file+"/"+name, func(t *testing.T) {
				got := render(sm.parse(lay(text)))
				if string(got) != string(g) {
					t.Errorf("%s in layout %s:\n got %s\nwant %s", sm.file, name, got, g)
				}
			})
		}
	}
}
