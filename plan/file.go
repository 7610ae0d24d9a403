package plan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ctlops/ctlops/cucm"
	"github.com/ctlops/ctlops/internal/atomicfile"
	"github.com/ctlops/ctlops/internal/safefile"
	"github.com/ctlops/ctlops/internal/termsafe"
	"github.com/ctlops/ctlops/spec"
)

// New plans every cluster of cfg that lives has an entry for, in the spec's order.
func New(cfg *spec.Config, lives map[string]*Live, version string, now time.Time) *Plan {
	return NewWith(cfg, lives, version, now, Inputs{})
}

// NewWith is New with what the admin told the planner (Inputs).
func NewWith(cfg *spec.Config, lives map[string]*Live, version string, now time.Time, in Inputs) *Plan {
	p := &Plan{FormatVersion: FormatVersion, CtlopsVersion: version, SpecDigest: cfg.Digest(), Created: now.UTC(), Clusters: []*Cluster{}}
	for _, c := range cfg.Clusters {
		if l, ok := lives[c.Name]; ok {
			p.Clusters = append(p.Clusters, BuildWith(c, l, now, in))
		}
	}
	return p
}

// Digest identifies a plan (for the audit log and the plan file's integrity check): sha256
// of its canonical JSON (compact, in field order).
func (p *Plan) Digest() string {
	b, _ := json.Marshal(p)
	return digestOf(b)
}

func digestOf(canonical []byte) string {
	s := sha256.Sum256(canonical)
	return "sha256:" + hex.EncodeToString(s[:])
}

// MaxPlanFile bounds what Load reads: a plan file is untrusted input (it may come from a CI
// artifact), and even hundreds of clusters with 64 KiB files stay far below it.
const MaxPlanFile = 32 << 20

// fileMagic is the key that marks a plan file; the JSON view of `plan --format json` does not
// have it, so that view is never mistaken for a plan someone approved.
const fileMagic = "ctlops_plan_file"

// planFile is a saved plan: the plan's canonical JSON and its digest. The digest is not a
// signature (anyone can recompute it); it makes a hand edit fail as a hand edit, named as
// such, instead of being caught, or not, by a later check.
type planFile struct {
	Version int             `json:"ctlops_plan_file"`
	Digest  string          `json:"digest"`
	Spec    *SpecLocation   `json:"spec,omitempty"`
	Plan    json.RawMessage `json:"plan"`
}

// SpecLocation is where the spec of a saved plan was, so that `ctlops apply PLANFILE` run from
// another directory finds it without -f (issue 17). It is outside the plan's digest: it says
// where to look, and the spec digest inside the plan still refuses any other spec.
type SpecLocation struct {
	// Relative is the spec's path relative to the plan file's directory (a checkout moved as
	// a whole keeps working); Absolute is where it was when the plan was made.
	Relative string `json:"relative,omitempty"`
	Absolute string `json:"absolute,omitempty"`
}

// SpecFor records spec (a file or directory, as given to -f; "" for ./ctlops.yaml) as seen
// from a plan file saved at planPath.
func SpecFor(spec, planPath string) *SpecLocation {
	if spec == "" {
		spec = "ctlops.yaml"
	}
	abs, err := filepath.Abs(spec)
	if err != nil {
		return nil
	}
	loc := &SpecLocation{Absolute: abs}
	if dir, err := filepath.Abs(filepath.Dir(planPath)); err == nil {
		if rel, err := filepath.Rel(dir, abs); err == nil {
			loc.Relative = filepath.ToSlash(rel)
		}
	}
	return loc
}

// Resolve is the spec path to use for a plan file at planPath: the relative location when it
// exists from there, else the absolute one, else "".
func (l *SpecLocation) Resolve(planPath string) string {
	if l == nil {
		return ""
	}
	if l.Relative != "" {
		p := filepath.Join(filepath.Dir(planPath), filepath.FromSlash(l.Relative))
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if l.Absolute != "" {
		if _, err := os.Stat(l.Absolute); err == nil {
			return l.Absolute
		}
	}
	return ""
}

// Save writes the plan file atomically, so an interrupted `plan --out` never leaves half a
// plan for apply to read.
func (p *Plan) Save(path string) error { return p.SaveWith(path, nil) }

// SaveWith is Save recording where the spec is (SpecFor).
func (p *Plan) SaveWith(path string, spec *SpecLocation) error {
	canonical, err := json.Marshal(p)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(planFile{Version: FormatVersion, Digest: digestOf(canonical), Spec: spec, Plan: canonical}, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'), 0o644)
}

// Load reads a plan file written by Save: bounded, one JSON value and nothing after it, the
// plan's digest intact, this format version.
func Load(path string) (*Plan, error) {
	b, err := safefile.Read(path, MaxPlanFile)
	if err != nil {
		return nil, err
	}
	var f planFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		var probe map[string]json.RawMessage
		if json.Unmarshal(b, &probe) == nil && probe["format_version"] != nil && probe[fileMagic] == nil {
			return nil, fmt.Errorf("%s: this is the JSON view of a plan (`ctlops plan --format json`), not a plan file: save one with `ctlops plan --out FILE`", path)
		}
		return nil, fmt.Errorf("%s: not a ctlops plan file: %v", path, err)
	}
	rest := b[dec.InputOffset():]
	if junk := bytes.TrimLeft(rest, " \t\r\n"); len(junk) > 0 {
		return nil, fmt.Errorf("%s: not a ctlops plan file: data after the plan at byte offset %d", path, len(b)-len(junk))
	}
	if f.Version != FormatVersion {
		return nil, fmt.Errorf("%s: plan format version %d, this ctlops reads %d: make the plan again with this version", path, f.Version, FormatVersion)
	}
	var canonical bytes.Buffer
	if err := json.Compact(&canonical, f.Plan); err != nil || len(f.Plan) == 0 {
		return nil, fmt.Errorf("%s: not a ctlops plan file: no plan in it", path)
	}
	if got := digestOf(canonical.Bytes()); got != f.Digest {
		return nil, fmt.Errorf("%s: the plan was edited after it was saved (its digest is %s, the file says %s): make a new plan with `ctlops plan --out`", path, got, f.Digest)
	}
	var p Plan
	// The views' sentences ("message", "text", "note") are in the JSON but not in the types:
	// they are read past, and the digest above already covers them.
	if err := json.Unmarshal(canonical.Bytes(), &p); err != nil {
		return nil, fmt.Errorf("%s: not a ctlops plan file: %v", path, err)
	}
	if p.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("%s: plan format version %d, this ctlops reads %d: make the plan again with this version", path, p.FormatVersion, FormatVersion)
	}
	if err := checkWindows(&p); err != nil {
		return nil, fmt.Errorf("%s: not a valid plan file: %v", path, err)
	}
	p.SpecFile = f.Spec.Resolve(path)
	return &p, nil
}

// Stale compares a saved plan with one made now from the same spec path: the spec, every
// server's file and everything the desired file is computed from must be as they were, or the
// saved plan no longer says what apply would do. It returns what changed, empty when fresh.
func Stale(saved, now *Plan) []string {
	var why []string
	if saved.SpecDigest != now.SpecDigest {
		why = append(why, fmt.Sprintf("the spec changed (%s, now %s)", saved.SpecDigest, now.SpecDigest))
	}
	fresh := map[string]*Cluster{}
	for _, c := range now.Clusters {
		fresh[c.Name] = c
	}
	for _, s := range saved.Clusters {
		n, ok := fresh[s.Name]
		if !ok {
			why = append(why, fmt.Sprintf("cluster %s is no longer in the spec", s.Name))
			continue
		}
		if n.Error != "" {
			why = append(why, fmt.Sprintf("cluster %s: %s", s.Name, n.Error))
			continue
		}
		digests := map[string]string{}
		for _, t := range n.Targets {
			digests[t.Address] = t.Digest
		}
		for _, t := range s.Targets {
			d, ok := digests[t.Address]
			switch {
			case !ok:
				why = append(why, fmt.Sprintf("cluster %s: server %s (%s) is no longer a target", s.Name, t.Server, t.Address))
			case d != t.Digest:
				why = append(why, fmt.Sprintf("cluster %s: server %s now holds %s, the plan saw %s", s.Name, t.Server, short(d), short(t.Digest)))
			}
			delete(digests, t.Address)
		}
		for addr := range digests {
			why = append(why, fmt.Sprintf("cluster %s: new target %s", s.Name, addr))
		}
		// Each half of the mode says its own change: "now mixed, saw mixed" said nothing.
		if s.Mode.From != n.Mode.From {
			why = append(why, fmt.Sprintf("cluster %s: security mode is now %s, the plan saw %s", s.Name, orNone(n.Mode.From), orNone(s.Mode.From)))
		}
		if s.Mode.To != n.Mode.To {
			why = append(why, fmt.Sprintf("cluster %s: the spec now declares security mode %s, the plan was made for %s", s.Name, orNone(n.Mode.To), orNone(s.Mode.To)))
		}
		var sd, nd []byte
		if s.Desired != nil {
			sd = s.Desired.Data
		}
		if n.Desired != nil {
			nd = n.Desired.Data
		}
		if !bytes.Equal(sd, nd) {
			why = append(why, fmt.Sprintf("cluster %s: the inventory changed since the plan was made, so the desired CTL differs (R22)", s.Name))
		}
	}
	return why
}

func short(d string) string {
	if d == "" {
		return "no file"
	}
	if len(d) > 12 {
		return "sha256 " + d[:12] + "…"
	}
	return d
}

// Compare is the canonical comparison of a saved plan with one made now: the whole typed plan
// of every cluster (actions, desired file, targets, mode, refusals, warnings, signers,
// suspension, steps) must be the same, only the time it was made may differ. It returns each
// difference as a path and the two values, empty when they are the same plan.
func Compare(saved, now *Plan) []string {
	a, b := canonicalTree(saved), canonicalTree(now)
	var out []string
	diffTree("", a, b, &out)
	return out
}

// canonicalTree is the plan as generic JSON with clusters keyed by name, so that a difference
// reads "clusters[hq].refusals" rather than an index.
func canonicalTree(p *Plan) any {
	c := *p
	c.Created = time.Time{}
	raw, _ := json.Marshal(&c)
	var tree map[string]any
	_ = json.Unmarshal(raw, &tree)
	if list, ok := tree["clusters"].([]any); ok {
		byName := map[string]any{}
		for _, x := range list {
			if m, ok := x.(map[string]any); ok {
				byName[fmt.Sprint(m["name"])] = m
			}
		}
		tree["clusters"] = byName
	}
	dropLocks(tree)
	dropWindows(tree)      // plan/window.go: WindowMismatch says it
	dropRegistration(tree) // plan/registration.go
	return tree
}

// maxDifferences keeps the error readable; the first ones name what was changed.
const maxDifferences = 8

func diffTree(path string, a, b any, out *[]string) {
	if len(*out) >= maxDifferences {
		return
	}
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			p := k
			if strings.HasSuffix(path, "clusters") {
				p = path + "[" + k + "]"
			} else if path != "" {
				p = path + "." + k
			}
			diffTree(p, am[k], bm[k], out)
		}
		return
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		*out = append(*out, fmt.Sprintf("%s: the plan file says %s, the live clusters now give %s", path, clip(ja), clip(jb)))
	}
}

func clip(b []byte) string {
	const n = 120
	s := termsafe.Line(string(b))
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func orNone(m cucm.Mode) string {
	if m == "" {
		return "(unknown)"
	}
	return string(m)
}
