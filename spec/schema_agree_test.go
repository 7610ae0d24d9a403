package spec

import (
	"encoding/json"
	"os"
	"sort"
	"strings"
	"testing"
)

// TestSchemaAgrees compares the loader's grammar with schemas/ctlops.schema.json directly:
// the allowed keys of every mapping, the enums and the patterns. The fixture tests in package
// schemas catch disagreements that fixtures exercise; this catches the ones they do not.
func TestSchemaAgrees(t *testing.T) {
	b, err := os.ReadFile("../schemas/ctlops.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	defs := doc["$defs"].(map[string]any)
	obj := func(name string) map[string]any {
		if name == "root" {
			return doc
		}
		if d, ok := defs[name].(map[string]any); ok {
			return d
		}
		sw := defs["signWith"].(map[string]any)["properties"].(map[string]any)
		if d, ok := sw[name].(map[string]any); ok {
			return d
		}
		t.Fatalf("schema has no object %q", name)
		return nil
	}
	for name, want := range keys {
		o := obj(name)
		if o["additionalProperties"] != false {
			t.Errorf("%s: schema allows additional properties; the loader does not", name)
		}
		var got []string
		for k := range o["properties"].(map[string]any) {
			got = append(got, k)
		}
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(sorted(want), ",") {
			t.Errorf("%s: schema keys %v, loader keys %v", name, got, sorted(want))
		}
	}

	enum := func(v any) string {
		var s []string
		for _, e := range v.(map[string]any)["enum"].([]any) {
			s = append(s, e.(string))
		}
		return strings.Join(s, ",")
	}
	cl := defs["cluster"].(map[string]any)["properties"].(map[string]any)
	if got := enum(cl["mode"]); got != string(ModeMixed)+","+string(ModeNonSecure) {
		t.Errorf("mode enum %s", got)
	}
	if got := enum(defs["signWith"].(map[string]any)["properties"].(map[string]any)["hash"]); got != strings.Join(hashes, ",") {
		t.Errorf("hash enum %s", got)
	}
	roleItems := defs["expectedServer"].(map[string]any)["properties"].(map[string]any)["roles"].(map[string]any)["items"]
	if got := enum(roleItems); got != strings.Join(roles, ",") {
		t.Errorf("roles enum %s", got)
	}

	pattern := func(v any) string { return v.(map[string]any)["pattern"].(string) }
	if got := pattern(defs["name"]); got != namePattern.String() {
		t.Errorf("name pattern: schema %s, loader %s", got, namePattern)
	}
	if got := pattern(defs["host"].(map[string]any)["anyOf"].([]any)[0]); got != hostPattern.String() {
		t.Errorf("host pattern: schema %s, loader %s", got, hostPattern)
	}
	if got := pattern(defs["secretRef"].(map[string]any)["properties"].(map[string]any)["env"]); got != envPattern.String() {
		t.Errorf("env pattern: schema %s, loader %s", got, envPattern)
	}
	pin := defs["tls"].(map[string]any)["properties"].(map[string]any)["pin"].(map[string]any)["items"]
	if got := pattern(pin); got != pinPattern.String() {
		t.Errorf("pin pattern: schema %s, loader %s", got, pinPattern)
	}
	if got := pattern(defs["days"]); got != daysPattern.String() {
		t.Errorf("days pattern: schema %s, loader %s", got, daysPattern)
	}
	cred := defs["credentials"].(map[string]any)["properties"].(map[string]any)["username"]
	if got := pattern(cred); got != userPattern.String() {
		t.Errorf("username pattern: schema %s, loader %s", got, userPattern)
	}
	if got := cl["tokens"].(map[string]any)["minItems"]; got != float64(2) {
		t.Errorf("tokens minItems %v, want 2 (R16)", got)
	}
}
