// Package termsafe makes strings that came from outside this process (servers' answers,
// error texts, lock holders, host names in a CTL, file names) safe to show on a terminal.
//
// A hostile server can put escape sequences in any string it returns: one that clears the
// screen and prints "Apply complete." must not be able to. Every string from outside goes
// through String (or Error) before it reaches output; the result shows control bytes and
// invalid UTF-8 as Go escapes, so nothing is lost to the reader and nothing is executed.
package termsafe

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// String returns s with every control character (C0, DEL, C1, including ESC and CR), every
// Unicode format character (bidi overrides) and every invalid UTF-8 byte written as an
// escape such as \x1b or \u202e. Printable text, spaces and tabs pass unchanged.
func String(s string) string {
	if clean(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteString(`\x` + strconv.FormatUint(uint64(s[i])|0x100, 16)[1:])
		case unsafe(r):
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// Error returns String(err.Error()), or "" for nil.
func Error(err error) string {
	if err == nil {
		return ""
	}
	return String(err.Error())
}

// Line is String with newlines escaped too, for values that must stay on one line
// (one line per server in progress and error output).
func Line(s string) string {
	return strings.ReplaceAll(String(s), "\n", `\n`)
}

func clean(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || unsafe(r) {
			return false
		}
	}
	return true
}

func unsafe(r rune) bool {
	if r == '\t' || r == '\n' {
		return false
	}
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
}

// JSON rewrites, in the output of encoding/json, every character String would escape and
// encoding/json leaves raw (DEL, the C1 controls, Unicode format characters such as bidi
// overrides) as a \u escape. The JSON means the same, value for value; a line of it shown
// on a terminal (an audit log, a log line) can no longer drive the terminal. Outside strings
// JSON is ASCII, so every rune rewritten is inside a string, where \u is valid.
func JSON(b []byte) []byte {
	if clean(string(b)) {
		return b
	}
	out := make([]byte, 0, len(b)+32)
	for _, r := range string(b) {
		if r != utf8.RuneError && !unsafe(r) {
			out = utf8.AppendRune(out, r)
			continue
		}
		if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
			out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
		} else {
			out = fmt.Appendf(out, `\u%04x`, r)
		}
	}
	return out
}

// WriteJSON writes v as indented JSON and a newline, as a json.Encoder with SetIndent("",
// "  ") does, through JSON: the JSON views printed on a terminal quote servers and files.
func WriteJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(JSON(b), '\n'))
	return err
}
