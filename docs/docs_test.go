// Package docs holds the project's own documentation. This test keeps it honest: every rule
// (R<n>), phone rule (P<n>) and format section (§x.y) cited anywhere in the code, its golden
// files, the examples or the documents must be a heading here, so that a user reading
// "refused (R16)" in a plan, or an engineer reading "§2.4" in ctl, can look it up.
package docs

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// headingIDs reads the ids a document defines: a heading line whose first word is the id.
func headingIDs(t *testing.T, file string, id *regexp.Regexp) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		words := strings.Fields(strings.TrimLeft(line, "#"))
		if len(words) > 0 && id.MatchString(words[0]) {
			ids[words[0]] = true
		}
	}
	return ids
}

var (
	ruleHeading    = regexp.MustCompile(`^R[0-9]+$`)
	phoneHeading   = regexp.MustCompile(`^P[0-9]+$`)
	sectionHeading = regexp.MustCompile(`^§[0-9]+(\.[0-9]+)*$`)

	// Citations. Two digits at most for P, so that curve names (P256) are not phone rules.
	ruleCite    = regexp.MustCompile(`\bR[0-9]{1,3}\b`)
	phoneCite   = regexp.MustCompile(`\bP[0-9]{1,2}\b`)
	sectionCite = regexp.MustCompile(`§ ?([0-9]+(\.[0-9]+)*)`)
	// A § citation right after one of these names cites that document: CUCM-INTERFACES is in
	// docs/cucm-interfaces.md, the others (RFCs, the shared design notes) are not ctlops'.
	cucmDoc  = regexp.MustCompile(`(?i)CUCM-INTERFACES(\.md)?[ ,]*$`)
	otherDoc = regexp.MustCompile(`(RFC ?[0-9]+|DESIGN(\.md)?|TOOLCHAIN(\.md)?|PHONE-RULES(\.md)?)[ ,]*$`)
)

// index is what docs/ defines.
type index struct{ rules, phones, sections, cucm map[string]bool }

func loadIndex(t *testing.T) index {
	return index{
		rules:    headingIDs(t, "domain.md", ruleHeading),
		phones:   headingIDs(t, "phone-rules.md", phoneHeading),
		sections: headingIDs(t, "ctl-format.md", sectionHeading),
		cucm:     headingIDs(t, "cucm-interfaces.md", sectionHeading),
	}
}

// cucmDefault says whether a bare §x.y in the file at path cites cucm-interfaces.md: the
// convention of the packages that reach a real CUCM (cucm/...), written down in that document.
func cucmDefault(path string) bool {
	p := filepath.ToSlash(path)
	return strings.HasPrefix(p, "../cucm/") || strings.HasPrefix(p, "cucm/") || strings.HasPrefix(p, "../lab/cucmsim/") || strings.HasSuffix(p, "docs/cucm-interfaces.md")
}

// unresolved returns the citations in text that docs/ does not define, and the § citations
// of other documents (which docs/ does not hold and which are reported, not failed). A bare §
// cites ctl-format.md, or cucm-interfaces.md when inCUCM.
func (ix index) unresolved(text string, inCUCM bool) (missing, foreign []string) {
	for _, m := range ruleCite.FindAllString(text, -1) {
		if !ix.rules[m] {
			missing = append(missing, m)
		}
	}
	for _, m := range phoneCite.FindAllString(text, -1) {
		if !ix.phones[m] {
			missing = append(missing, m)
		}
	}
	for _, loc := range sectionCite.FindAllStringSubmatchIndex(text, -1) {
		id := "§" + text[loc[2]:loc[3]]
		// Text before the citation on its own line decides which document it cites.
		before := text[:loc[0]]
		if i := strings.LastIndexByte(before, '\n'); i >= 0 {
			before = before[i+1:]
		}
		if doc := otherDoc.FindString(before); doc != "" {
			foreign = append(foreign, strings.TrimSpace(doc)+" "+id)
			continue
		}
		// "§3.1 and CUCM-INTERFACES §3": the name right before a § qualifies that one only.
		if cucmDoc.MatchString(before) || (inCUCM && !strings.HasSuffix(strings.TrimRight(before, " ,("), "CTL-FORMAT")) {
			if !ix.cucm[id] {
				missing = append(missing, "CUCM-INTERFACES "+id)
			}
			continue
		}
		if !ix.sections[id] {
			missing = append(missing, id)
		}
	}
	return missing, foreign
}

// cited reports whether a file is one whose text cites rules: Go source, documents, golden
// and other text fixtures, examples and schemas. Keys, certificates and binary files are not
// (base64 can spell "R12").
func cited(path string) bool {
	switch filepath.Ext(path) {
	case ".go", ".md", ".golden", ".txt", ".json", ".yaml", ".yml", ".example", ".sh":
		return true
	}
	return filepath.Base(path) == "Makefile" || filepath.Base(path) == "Dockerfile"
}

func TestEveryCitationResolves(t *testing.T) {
	ix := loadIndex(t)
	var problems, foreign []string
	files := 0
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "bin", "node_modules", ".ctlops-lab", ".ctlops-demo", ".ctlops", ".cache", "dist":
				return filepath.SkipDir
			}
			return nil
		}
		// This file's own made-up citations are its positive control, not citations.
		if !d.Type().IsRegular() || !cited(path) || path == filepath.Join("..", "docs", "docs_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.IndexByte(b, 0) >= 0 {
			return nil // binary
		}
		files++
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for n := 1; sc.Scan(); n++ {
			missing, other := ix.unresolved(sc.Text(), cucmDefault(path))
			for _, m := range missing {
				problems = append(problems, fmt.Sprintf("%s:%d: %s has no heading in docs/", path, n, m))
			}
			for _, m := range other {
				foreign = append(foreign, fmt.Sprintf("%s:%d: %s", path, n, m))
			}
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("scanned only %d files: the walk missed the repository", files)
	}
	sort.Strings(foreign)
	for _, f := range foreign {
		t.Logf("cites another document (not in docs/): %s", f)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// The checker must be able to fail: made-up citations are caught, real ones pass, and
// another document's sections are told apart from the format's.
func TestUnresolvedCitationsAreCaught(t *testing.T) {
	ix := loadIndex(t)
	cases := []struct {
		text             string
		inCUCM           bool
		missing, foreign int
	}{
		{"refused (R16); trust continuity (R19-R21), R1–R27", false, 0, 0},
		{"refused (R99)", false, 1, 0},
		{"R0 and R28 do not exist", false, 2, 0},
		{"phones imprint the first CTL (P13); P0 and P51", false, 0, 0},
		{"a phone rule P52 that nobody wrote", false, 1, 0},
		{"curve P256 and P384 are no phone rules", false, 0, 0},
		{"the signature (§2.5), strings (§1.4), records §3", false, 0, 0},
		{"a made-up section §2.9 and § 12", false, 2, 0},
		{"RFC 5280 §4.1 and RFC 1350 §4", false, 0, 2},
		{"CUCM-INTERFACES.md §2.3 and CUCM-INTERFACES §4.1", false, 0, 0},
		{"CUCM-INTERFACES §2.16 does not exist", false, 1, 0},
		{"in cucm/: show network cluster (§2.10), restarts (§2.12)", true, 0, 0},
		{"in cucm/: a made-up §2.16", true, 1, 0},
		{"outside cucm/, §2.10 is the format's, which has none", false, 1, 0},
	}
	for _, c := range cases {
		missing, foreign := ix.unresolved(c.text, c.inCUCM)
		if len(missing) != c.missing || len(foreign) != c.foreign {
			t.Errorf("%q: missing %v, other documents %v; want %d and %d", c.text, missing, foreign, c.missing, c.foreign)
		}
	}
}

// The numbering is fixed: every rule of the domain and every phone rule has its heading.
func TestNumberingIsComplete(t *testing.T) {
	ix := loadIndex(t)
	for i := 1; i <= 27; i++ {
		if !ix.rules[fmt.Sprintf("R%d", i)] {
			t.Errorf("domain.md has no heading R%d", i)
		}
	}
	for i := 0; i <= 51; i++ {
		if !ix.phones[fmt.Sprintf("P%d", i)] {
			t.Errorf("phone-rules.md has no heading P%d", i)
		}
	}
	for _, s := range []string{"§1.3", "§1.4", "§2.1", "§2.2", "§2.3", "§2.4", "§2.5", "§3", "§3.1", "§3.2", "§3.3", "§4", "§7"} {
		if !ix.sections[s] {
			t.Errorf("ctl-format.md has no heading %s", s)
		}
	}
}
