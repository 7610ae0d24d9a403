// Command yaml2json converts YAML files to JSON for validators that read only JSON (ajv-cli in
// scripts/ajv-check.sh): yaml2json IN.yaml OUT.json [IN OUT]...
package main

import (
	"fmt"
	"os"

	"github.com/ctlops/ctlops/schemas"
)

func main() {
	args := os.Args[1:]
	if len(args) == 0 || len(args)%2 != 0 {
		fmt.Fprintln(os.Stderr, "usage: yaml2json IN.yaml OUT.json [IN.yaml OUT.json]...")
		os.Exit(2)
	}
	for i := 0; i < len(args); i += 2 {
		in, err := os.ReadFile(args[i])
		if err == nil {
			var out []byte
			if out, err = schemas.YAMLToJSON(in); err == nil {
				err = os.WriteFile(args[i+1], out, 0o644)
			}
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "yaml2json: %s: %v\n", args[i], err)
			os.Exit(1)
		}
	}
}
