package plan

import (
	"os"
	"path/filepath"
	"testing"
)

// A saved plan remembers its spec: relative to the plan file (a moved checkout still works),
// else by its absolute path; none when the spec is gone.
func TestPlanFileRemembersSpec(t *testing.T) {
	root := t.TempDir()
	specFile := filepath.Join(root, "repo", "specs", "ctlops.yaml")
	planPath := filepath.Join(root, "repo", "out", "plan.json")
	for _, d := range []string{filepath.Dir(specFile), filepath.Dir(planPath)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(specFile, []byte("version: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &Plan{FormatVersion: FormatVersion, Clusters: []*Cluster{}}
	loc := SpecFor(specFile, planPath)
	if loc.Relative != "../specs/ctlops.yaml" || loc.Absolute != specFile {
		t.Fatalf("location %+v", loc)
	}
	if err := p.SaveWith(planPath, loc); err != nil {
		t.Fatal(err)
	}
	got, err := Load(planPath)
	if err != nil {
		t.Fatal(err)
	}
	if got.SpecFile != filepath.Join(root, "repo", "out", "..", "specs", "ctlops.yaml") {
		t.Errorf("SpecFile %q", got.SpecFile)
	}
	// The checkout moves: the relative location still finds it.
	moved := filepath.Join(root, "moved")
	if err := os.Rename(filepath.Join(root, "repo"), moved); err != nil {
		t.Fatal(err)
	}
	if got, err := Load(filepath.Join(moved, "out", "plan.json")); err != nil {
		t.Error(err)
	} else if got.SpecFile != filepath.Join(moved, "out", "..", "specs", "ctlops.yaml") {
		t.Errorf("after the move: %q", got.SpecFile)
	}
	// Only the plan file moves: the absolute location finds it (positive control: put it back).
	if err := os.Rename(moved, filepath.Join(root, "repo")); err != nil {
		t.Fatal(err)
	}
	lone := filepath.Join(root, "lone.json")
	if err := os.Rename(planPath, lone); err != nil {
		t.Fatal(err)
	}
	if got, err := Load(lone); err != nil {
		t.Error(err)
	} else if got.SpecFile != specFile {
		t.Errorf("plan file alone: %q", got.SpecFile)
	}
	// A plan saved without a location resolves to none.
	if err := p.Save(planPath); err != nil {
		t.Fatal(err)
	}
	if got, err := Load(planPath); err != nil {
		t.Error(err)
	} else if got.SpecFile != "" {
		t.Errorf("no location: %q", got.SpecFile)
	}
}
