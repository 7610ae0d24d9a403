package spec

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/ctlops/ctlops/internal/termsafe"
)

// Report is the outcome of validating a spec, in the shape `ctlops validate` prints. It lives
// here rather than in the CLI so that its text and JSON forms are tested with the loader.
type Report struct {
	Valid    bool         `json:"valid"`
	Files    []string     `json:"files"`
	Clusters []string     `json:"clusters"`
	Digest   string       `json:"digest,omitempty"`
	Errors   []Diagnostic `json:"errors"`
	Warnings []Diagnostic `json:"warnings"`
}

// Diagnostic is an error or warning in the JSON report.
type Diagnostic struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
	Text    string `json:"text"` // the one-line text form, for tools that just print it
}

// NewReport turns what Load returned into a report.
func NewReport(cfg *Config, warns []Warning, err error) *Report {
	r := &Report{Valid: err == nil, Errors: []Diagnostic{}, Warnings: []Diagnostic{}, Files: []string{}, Clusters: []string{}}
	if cfg != nil {
		r.Files = append(r.Files, cfg.Files...)
		for _, c := range cfg.Clusters {
			r.Clusters = append(r.Clusters, c.Name)
		}
		r.Digest = cfg.Digest()
	}
	for _, e := range Errors(err) {
		r.Errors = append(r.Errors, Diagnostic{File: e.Pos.File, Line: e.Pos.Line, Column: e.Pos.Col,
			Path: e.Path, Message: e.Msg, Text: e.Error()})
	}
	for _, w := range warns {
		r.Warnings = append(r.Warnings, Diagnostic{File: w.Pos.File, Line: w.Pos.Line, Column: w.Pos.Col,
			Path: w.Path, Message: w.Msg, Text: w.String()})
	}
	return r
}

// WriteText prints one line per problem, errors first, then a one-line summary, through the
// terminal filter: a file's name (one the spec names, from a pull request) may hold escapes.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, e := range r.Errors {
		b.WriteString(e.Text)
		b.WriteByte('\n')
	}
	for _, x := range r.Warnings {
		b.WriteString(x.Text)
		b.WriteByte('\n')
	}
	if r.Valid {
		fmt.Fprintf(&b, "valid: %s (%s)%s\n", plural(len(r.Clusters), "cluster"), strings.Join(r.Clusters, ", "),
			warnSuffix(len(r.Warnings)))
	} else {
		fmt.Fprintf(&b, "invalid: %s%s\n", plural(len(r.Errors), "error"), warnSuffix(len(r.Warnings)))
	}
	_, err := io.WriteString(w, termsafe.String(b.String()))
	return err
}

// WriteJSON prints the report as one indented JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func warnSuffix(n int) string {
	if n == 0 {
		return ""
	}
	return ", " + plural(n, "warning")
}
