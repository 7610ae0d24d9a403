package spec

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// maxAliases bounds how many YAML aliases one file may dereference, so that a "billion laughs"
// file costs a bounded amount of work instead of exponential time.
const maxAliases = 1000

// decoder walks one file's yaml.Node tree, collecting every problem instead of stopping at the
// first, each with its file:line:column.
type decoder struct {
	file    string // as shown in messages
	dir     string // relative paths in the file resolve against it
	root    string // the spec's folder (loader.root), where {file:} secrets may be read
	src     []byte // the file's content, to place syntax errors (syntaxLine)
	errs    []*Error
	warns   []Warning
	aliases int
	dropped int           // errors past maxFileErrors, counted not kept
	window  time.Duration // the expiry warning window in force (expiryWarning)
}

func (d *decoder) pos(n *yaml.Node) Pos {
	if n == nil {
		return Pos{File: d.file}
	}
	return Pos{File: d.file, Line: n.Line, Col: n.Column}
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	if len(d.errs) >= maxFileErrors {
		d.dropped++
		return
	}
	d.errs = append(d.errs, &Error{Pos: d.pos(n), Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) warnf(n *yaml.Node, path, format string, args ...any) {
	if len(d.warns) >= maxFileErrors {
		return
	}
	d.warns = append(d.warns, Warning{Pos: d.pos(n), Path: path, Msg: fmt.Sprintf(format, args...)})
}

// flushDropped reports, once, how many errors of the file were not kept.
func (d *decoder) flushDropped() {
	if d.dropped > 0 {
		d.errs = append(d.errs, &Error{Pos: Pos{File: d.file}, Msg: fmt.Sprintf("%d more errors not shown; fix the ones above first", d.dropped)})
	}
}

// deref follows aliases (*name) to the anchored node, within the alias budget.
func (d *decoder) deref(n *yaml.Node, path string) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		d.aliases++
		if d.aliases > maxAliases {
			if d.aliases == maxAliases+1 {
				// Kept past maxFileErrors: it explains the errors around it.
				d.errs = append(d.errs, &Error{Pos: d.pos(n), Path: path, Msg: fmt.Sprintf("more than %d alias dereferences; write the values out", maxAliases)})
			}
			return nil
		}
		n = n.Alias
	}
	return n
}

// kindName names a node's type the way the JSON Schema does, for "want X, found Y" messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!str":
			return "a string"
		case "!!int":
			return "an integer"
		case "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		case "!!null":
			return "nothing (null)"
		case "!!binary":
			return "binary data"
		case "!!timestamp":
			return "a timestamp"
		}
		return "a scalar " + n.Tag
	}
	return "a document"
}

// field is one key of a mapping with its key node (for positions) and value node.
type field struct {
	key *yaml.Node
	val *yaml.Node
}

// fields is a decoded mapping: what was declared, keyed by name.
type fields struct {
	node *yaml.Node
	path string
	m    map[string]field
	// typo holds the known keys that an unknown key was suggested as, so that a misspelt key
	// is reported once (as unknown, with the suggestion) and not again as missing.
	typo map[string]bool
}

func (f fields) has(k string) bool { _, ok := f.m[k]; return ok }

func (f fields) get(k string) (field, bool) { v, ok := f.m[k]; return v, ok }

// mapping decodes a mapping node whose allowed keys are known. Unknown keys are reported with
// a "did you mean" suggestion, duplicates with the first place, and any key in secretKeys or
// that looks like a secret is refused when it holds a literal. ok is false when n is not a
// mapping (already reported).
func (d *decoder) mapping(n *yaml.Node, path string, known ...string) (fields, bool) {
	f := fields{node: n, path: path, m: map[string]field{}, typo: map[string]bool{}}
	n = d.deref(n, path)
	if n == nil {
		return f, false
	}
	f.node = n
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "want a mapping, found %s", kindName(n))
		return f, false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			d.errorf(k, path, "merge keys (<<) are not supported; write the fields out")
			continue
		}
		if k.Kind != yaml.ScalarNode || k.Tag != "!!str" {
			d.errorf(k, path, "keys must be plain names, found %s", kindName(k))
			continue
		}
		name := k.Value
		if prev, dup := f.m[name]; dup {
			d.errorf(k, join(path, name), "duplicate key (first at line %d)", prev.key.Line)
			continue
		}
		if !contains(known, name) {
			if sg := d.unknownKey(k, v, path, name, known); sg != "" {
				f.typo[sg] = true
			}
			continue
		}
		f.m[name] = field{key: k, val: v}
	}
	return f, true
}

func (d *decoder) unknownKey(k, v *yaml.Node, path, name string, known []string) string {
	msg := fmt.Sprintf("unknown key %q", name)
	s := suggest(name, known)
	if s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	} else if len(known) > 0 {
		msg += " (allowed: " + strings.Join(sorted(known), ", ") + ")"
	}
	if looksSecret(name) && v != nil && v.Kind == yaml.ScalarNode {
		msg += "; it holds a literal secret, which is refused: " + secretHint
	}
	d.errorf(k, path, "%s", msg)
	return s
}

// secretHint is how to reference a secret instead of writing it.
const secretHint = "secrets never live in YAML; reference one as {env: NAME} or {file: PATH}"

// looksSecret reports whether a key name suggests it holds a password or a PIN.
func looksSecret(name string) bool {
	l := strings.ToLower(name)
	for _, s := range []string{"passw", "passwd", "secret", "passphrase", "credential"} {
		if strings.Contains(l, s) {
			return true
		}
	}
	switch l {
	case "pin", "pass", "pwd", "userpin", "user_pin", "tokenpin", "token_pin", "sopin", "so_pin":
		return true
	}
	return false
}

// required reports the keys missing from a mapping, at the mapping's own position.
func (d *decoder) required(f fields, keys ...string) {
	for _, k := range keys {
		if !f.has(k) && !f.typo[k] {
			d.errorf(f.node, f.path, "missing required key %q", k)
		}
	}
}

// str decodes a string scalar; numbers and booleans are refused (quote them) because the JSON
// Schema, which sees the same file as JSON, would refuse them too.
func (d *decoder) str(n *yaml.Node, path string) (string, bool) {
	n = d.deref(n, path)
	if n == nil {
		return "", false
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		hint := ""
		if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
			hint = " (quote it to make it a string)"
		}
		d.errorf(n, path, "want a string, found %s%s", kindName(n), hint)
		return "", false
	}
	if strings.TrimSpace(n.Value) == "" {
		d.errorf(n, path, "must not be empty")
		return "", false
	}
	return n.Value, true
}

func (d *decoder) integer(n *yaml.Node, path string) (int, bool) {
	n = d.deref(n, path)
	if n == nil {
		return 0, false
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		d.errorf(n, path, "want an integer, found %s", kindName(n))
		return 0, false
	}
	v, err := strconv.ParseInt(n.Value, 0, 64)
	if err != nil {
		d.errorf(n, path, "want an integer, found %q", n.Value)
		return 0, false
	}
	if v < -1<<31 || v > 1<<31-1 {
		d.errorf(n, path, "integer %s out of range", n.Value)
		return 0, false
	}
	return int(v), true
}

// days decodes an expiryWarning such as "60d".
func (d *decoder) days(n *yaml.Node, path string) (time.Duration, bool) {
	s, ok := d.str(n, path)
	if !ok {
		return 0, false
	}
	if !daysPattern.MatchString(s) {
		d.errorf(n, path, "bad duration %q: want a number of days such as 60d", s)
		return 0, false
	}
	days, _ := strconv.Atoi(strings.TrimSuffix(s, "d"))
	if days > int(MaxExpiryWarning/(24*time.Hour)) {
		d.errorf(n, path, "%s is more than ten years", s)
		return 0, false
	}
	return time.Duration(days) * 24 * time.Hour, true
}

func (d *decoder) boolean(n *yaml.Node, path string) (bool, bool) {
	n = d.deref(n, path)
	if n == nil {
		return false, false
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		d.errorf(n, path, "want true or false, found %s", kindName(n))
		return false, false
	}
	v, err := strconv.ParseBool(strings.ToLower(n.Value))
	if err != nil {
		// YAML 1.1 spellings (yes/on) are tagged !!bool by yaml.v3 only in 1.1 mode; be explicit.
		d.errorf(n, path, "want true or false, found %q", n.Value)
		return false, false
	}
	return v, true
}

// list decodes a sequence node; ok is false when n is not one (already reported).
func (d *decoder) list(n *yaml.Node, path string) ([]*yaml.Node, bool) {
	n = d.deref(n, path)
	if n == nil {
		return nil, false
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "want a list, found %s", kindName(n))
		return nil, false
	}
	return n.Content, true
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func sorted(xs []string) []string {
	c := append([]string(nil), xs...)
	sort.Strings(c)
	return c
}

// suggest returns the known key closest to name when it is close enough to be a typo: same
// letters in another case, or within an edit distance that grows with the length.
func suggest(name string, known []string) string {
	best, bestD := "", 1<<30
	for _, k := range known {
		if strings.EqualFold(k, name) {
			return k
		}
		dist := levenshtein(strings.ToLower(name), strings.ToLower(k))
		if dist < bestD {
			best, bestD = k, dist
		}
	}
	limit := 2
	if len(name) <= 3 {
		limit = 1
	} else if len(name) >= 10 {
		limit = 3
	}
	if bestD <= limit {
		return best
	}
	return ""
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
