// Package schemas holds the JSON Schema of the ctlops YAML, for editors (yaml-language-server
// reads it through a `# yaml-language-server: $schema=…` comment) and for checks by tools
// other than ctlops. The loader in package spec is the truth; this package's tests keep the
// schema in agreement with it.
package schemas

import (
	_ "embed"
	"encoding/json"
	"fmt"

	"gopkg.in/yaml.v3"
)

// Schema is ctlops.schema.json (JSON Schema draft 2020-12).
//
//go:embed ctlops.schema.json
var Schema []byte

// SchemaURL is the schema's $id.
const SchemaURL = "https://github.com/ctlops/ctlops/schemas/ctlops.schema.json"

// YAMLToJSON converts one YAML document to JSON so that a JSON Schema validator sees the
// values a YAML parser sees (1 is a number, "1" a string, yes a string in YAML 1.2).
func YAMLToJSON(data []byte) ([]byte, error) {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	v, err := jsonable(v)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// jsonable turns what yaml.v3 decodes into values encoding/json accepts: maps with non-string
// keys (which JSON cannot hold) are refused rather than silently changed.
func jsonable(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			j, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			x[k] = j
		}
		return x, nil
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			ks, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("mapping key %v is not a string", k)
			}
			j, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			m[ks] = j
		}
		return m, nil
	case []any:
		for i, e := range x {
			j, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			x[i] = j
		}
		return x, nil
	}
	return v, nil
}
