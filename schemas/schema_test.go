package schemas_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ctlops/ctlops/schemas"
	"github.com/ctlops/ctlops/spec"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

func compile(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemas.Schema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(schemas.SchemaURL, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(schemas.SchemaURL)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func validate(t *testing.T, sch *jsonschema.Schema, file string) error {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	js, err := schemas.YAMLToJSON(b)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	return sch.Validate(v)
}

func yamlFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			out = append(out, p)
		}
		return err
	})
	if err != nil || len(out) == 0 {
		t.Fatalf("no YAML under %s: %v", dir, err)
	}
	sort.Strings(out)
	return out
}

// TestAccepted: whatever the loader accepts, the schema accepts, so an editor never underlines
// a file that ctlops takes.
func TestAccepted(t *testing.T) {
	sch := compile(t)
	files := append(yamlFiles(t, "../examples"), yamlFiles(t, "../spec/testdata/valid")...)
	loaded := map[string]bool{}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			// A directory with several files is one spec (one file per cluster, naming each
			// other); the schema sees each file alone, as an editor does.
			unit := f
			if dir := filepath.Dir(f); len(yamlFiles(t, dir)) > 1 {
				unit = dir
			}
			if !loaded[unit] {
				loaded[unit] = true
				if _, _, err := spec.Load(unit); err != nil {
					t.Fatalf("loader refuses %s:\n%v", unit, err)
				}
			}
			if err := validate(t, sch, f); err != nil {
				t.Fatalf("schema refuses it:\n%v", err)
			}
		})
	}
	if len(loaded) < 6 {
		t.Errorf("only %d specs loaded: %v", len(loaded), loaded)
	}
}

// TestRefusedByBoth: each invalid fixture is refused by the loader and by the schema, so the
// editor shows the mistake before CI does.
func TestRefusedByBoth(t *testing.T) {
	sch := compile(t)
	for _, f := range yamlFiles(t, "../spec/testdata/invalid") {
		t.Run(f, func(t *testing.T) {
			if _, _, err := spec.Load(f); err == nil {
				t.Fatal("loader accepts it")
			}
			if err := validate(t, sch, f); err == nil {
				t.Fatal("schema accepts it")
			}
		})
	}
}

// TestLoaderOnly documents the checks a JSON Schema cannot make (certificate contents,
// names unique across entries, references between clusters): the loader refuses these files,
// the schema lets them through.
func TestLoaderOnly(t *testing.T) {
	sch := compile(t)
	for _, f := range yamlFiles(t, "../spec/testdata/loader-only") {
		t.Run(f, func(t *testing.T) {
			if _, _, err := spec.Load(f); err == nil {
				t.Fatal("loader accepts it")
			}
			if err := validate(t, sch, f); err != nil {
				t.Fatalf("schema refuses it; move it to spec/testdata/invalid:\n%v", err)
			}
		})
	}
}

// TestDescriptions: every property and definition has a description, which editors show on
// hover.
func TestDescriptions(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(schemas.Schema, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v", doc["$schema"])
	}
	n := 0
	var walk func(path string, v any, needs bool)
	walk = func(path string, v any, needs bool) {
		m, ok := v.(map[string]any)
		if !ok {
			if l, ok := v.([]any); ok {
				for _, e := range l {
					walk(path+"[]", e, false)
				}
			}
			return
		}
		if _, ref := m["$ref"]; needs && !ref {
			n++
			if d, _ := m["description"].(string); strings.TrimSpace(d) == "" {
				t.Errorf("%s has no description", path)
			}
		}
		for k, e := range m {
			switch k {
			case "properties", "$defs":
				for name, p := range e.(map[string]any) {
					walk(path+"/"+k+"/"+name, p, true)
				}
			case "items":
				walk(path+"/items", e, true)
			case "if", "then", "else", "not", "oneOf", "anyOf", "allOf", "contains":
				// Constraints, not fields: editors show no hover for them.
			default:
				walk(path+"/"+k, e, false)
			}
		}
	}
	walk("#", doc, true)
	if n < 30 {
		t.Errorf("only %d described nodes walked; the walk is broken", n)
	}
}

func TestYAMLToJSON(t *testing.T) {
	for in, want := range map[string]string{
		"a: 1\nb: '1'\nc: [true, null]\n": `{"a":1,"b":"1","c":[true,null]}`,
		"x: {1: a}\n":                     "",
		"a: [\n":                          "",
	} {
		got, err := schemas.YAMLToJSON([]byte(in))
		if want == "" {
			if err == nil {
				t.Errorf("YAMLToJSON(%q) = %s, want an error", in, got)
			}
			continue
		}
		if err != nil || string(got) != want {
			t.Errorf("YAMLToJSON(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
}
