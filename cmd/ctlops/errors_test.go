package main

import (
	"strings"
	"testing"
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
