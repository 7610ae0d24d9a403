package spec

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/ctlops/ctlops/internal/safefile"
)

// Every file a spec names is read through safefile (regular files only, so /dev/zero and a
// FIFO are errors naming the file, never a hang) with a cap that fits its kind. The spec comes
// from a pull request as often as from an admin, so none of it may cost unbounded memory.
const (
	// MaxSpecFile caps one YAML file: a cluster is a few dozen lines, a thousand of them fit.
	MaxSpecFile = 1 << 20
	// MaxSpecTotal caps all the YAML files of a directory spec together.
	MaxSpecTotal = 8 << 20
	// maxNodes caps the YAML items (scalars, lists, mappings) one file may hold, estimated
	// before parsing: yaml.v3 spends about 200 bytes per item, so a 1 MiB file of "a,a,a,…"
	// would otherwise cost hundreds of MB before the first check ran.
	maxNodes = 100_000
	// maxFileErrors caps the errors kept per file: a list of a million wrong items says what
	// is wrong in its first few dozen.
	maxFileErrors = 50
	// maxCertFile caps a token or signer certificate (one certificate, PEM or DER).
	maxCertFile = 64 << 10
	// maxCAFile caps a CA bundle (the system bundle is about 200 KiB).
	maxCAFile = 1 << 20
)

// readSpecFile reads one YAML file of the spec within the caps; the error holds no path (the
// caller's position names the file).
func (l *loader) readSpecFile(name string) ([]byte, error) {
	b, err := safefile.Read(name, MaxSpecFile)
	if err != nil {
		if errors.Is(err, safefile.ErrTooLarge) {
			return nil, fmt.Errorf("%v; a spec file is at most %d bytes (split the clusters over several files)", unwrapPath(err), MaxSpecFile)
		}
		return nil, unwrapPath(err)
	}
	l.total += len(b)
	if l.total > MaxSpecTotal {
		return nil, fmt.Errorf("the spec's files hold more than %d bytes together", MaxSpecTotal)
	}
	return b, nil
}

// checkInput refuses, with a position, what the YAML parser would take badly: invalid UTF-8
// (yaml.v3 names no line for it) and more items than maxNodes.
func (d *decoder) checkInput(b []byte) bool {
	if !utf8.Valid(b) {
		off := 0
		for off < len(b) {
			r, n := utf8.DecodeRune(b[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		line := 1 + bytes.Count(b[:off], []byte("\n"))
		col := 1 + utf8.RuneCount(b[bytes.LastIndexByte(b[:off], '\n')+1:off])
		d.errs = append(d.errs, &Error{Pos: Pos{File: d.file, Line: line, Col: col},
			Msg: fmt.Sprintf("not UTF-8: byte 0x%02x at offset %d (save the file as UTF-8)", b[off], off)})
		return false
	}
	if n := nodeBound(b); n > maxNodes {
		d.errs = append(d.errs, &Error{Pos: Pos{File: d.file},
			Msg: fmt.Sprintf("holds up to %d YAML items, more than the %d a spec file may: split it, or look for a runaway list", n, maxNodes)})
		return false
	}
	return true
}

// nodeBound is an upper bound of the nodes yaml.v3 builds for b, counted without parsing:
// after the first, every node needs an indicator (",", "-", "?", "[", "{", "*") or a ":" that
// makes a key and a value.
func nodeBound(b []byte) int {
	n := 1
	for _, c := range b {
		switch c {
		case ',', '-', '?', '*':
			n++
		case ':', '[', '{':
			n += 2
		}
	}
	return n
}

// syntaxLine finds the line a YAML syntax error is really on. yaml.v3 reports the line where
// the enclosing block starts (its "context mark"), so an indentation slip on line 16 of a
// token list is reported at line 12, or at line 2 for a list under clusters:. The first
// prefix of the file that fails with the same message ends on the line at fault; prefixes are
// tried by bisection, a handful of parses.
func syntaxLine(b []byte, reported int, msg string) int {
	lines := bytes.SplitAfter(b, []byte("\n"))
	fails := func(k int) bool {
		var n yaml.Node
		err := yaml.Unmarshal(bytes.Join(lines[:k], nil), &n)
		if err == nil {
			return false
		}
		m := yamlLine.FindStringSubmatch(err.Error())
		return m != nil && m[2] == msg
	}
	lo, hi := reported, len(lines) // invariant: lines[:hi] fails; lines[:lo] does not, or lo is the report
	if lo < 1 || lo > hi || !fails(hi) {
		return reported
	}
	if fails(lo) {
		return reported
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// certCache keeps each certificate file read once per load: a list naming one file a
// hundred thousand times must not parse and keep a hundred thousand certificates.
type certResult struct {
	data  []byte
	certs []*x509.Certificate
	err   error
}

func (l *loader) readCerts(abs string, max int64) certResult {
	key := fmt.Sprintf("%s\x00%d", abs, max)
	if r, ok := l.certs[key]; ok {
		return r
	}
	var r certResult
	r.data, r.err = safefile.Read(abs, max)
	if r.err != nil {
		r.err = unwrapPath(r.err)
	} else {
		r.certs, r.err = parseCerts(r.data)
	}
	if l.certs == nil {
		l.certs = map[string]certResult{}
	}
	l.certs[key] = r
	return r
}
