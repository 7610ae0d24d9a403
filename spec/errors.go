package spec

import (
	"errors"
	"sort"
	"strings"

	"github.com/hashicorp/go-multierror"
)

// Error is one problem in the spec, with the place to fix it.
type Error struct {
	Pos  Pos
	Path string // e.g. "clusters[0].tokens[1].certificate"; "" for a whole file
	Msg  string
}

func (e *Error) Error() string { return format(e.Pos, "", e.Path, e.Msg) }

// Warning is a problem that does not make the spec invalid (a certificate close to expiry, a
// secret not available on this machine).
type Warning struct {
	Pos  Pos
	Path string
	Msg  string
}

func (w Warning) String() string { return format(w.Pos, "warning: ", w.Path, w.Msg) }

func format(p Pos, prefix, path, msg string) string {
	var b strings.Builder
	if s := p.String(); s != "" {
		b.WriteString(s)
		b.WriteString(": ")
	}
	b.WriteString(prefix)
	if path != "" {
		b.WriteString(path)
		b.WriteString(": ")
	}
	b.WriteString(msg)
	return b.String()
}

// Errors flattens an error returned by Load into its positioned errors, in file and line order.
// An error that carries no position becomes an *Error with only Msg set.
func Errors(err error) []*Error {
	if err == nil {
		return nil
	}
	var list []error
	var me *multierror.Error
	if errors.As(err, &me) {
		list = me.Errors
	} else {
		list = []error{err}
	}
	out := make([]*Error, 0, len(list))
	for _, e := range list {
		var se *Error
		if errors.As(e, &se) {
			out = append(out, se)
		} else {
			out = append(out, &Error{Msg: e.Error()})
		}
	}
	return out
}

// listFormat prints one error per line, each "file:line:col: path: message", the form editors
// and CI annotations understand, instead of multierror's bulleted paragraph.
func listFormat(es []error) string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

func sortByPos[T any](xs []T, pos func(T) Pos) {
	sort.SliceStable(xs, func(i, j int) bool {
		a, b := pos(xs[i]), pos(xs[j])
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}
