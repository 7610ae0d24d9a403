// Package platform drives the CUCM platform administration CLI ("admin:") over SSH: the only
// documented way to change a tokenless CTL on CUCM 10.0+ (CUCM-INTERFACES.md §2). It has two
// halves: a Session that types one command at a time into a PTY shell and waits for the
// prompt, and pure parsers for the answers. Parsers are tolerant of layout (the stored copies
// of Cisco's samples lost their line breaks; real sessions add CRLF, lone CR, ANSI escapes and
// pagination) and strict about content: text they do not recognise is an error that quotes it.
package platform

import (
	"regexp"
	"strings"

	"github.com/ctlops/ctlops/internal/termsafe"
)

var (
	// ansiRE matches CSI sequences (ESC [ ... final), OSC sequences (ESC ] ... BEL/ST) and
	// two-byte escapes (ESC x): what VT100 terminals and the calltelemetry fixtures show.
	ansiRE = regexp.MustCompile("\x1b\\[[0-9;?<=>]*[ -/]*[@-~]|\x1b\\][^\x07\x1b]*(?:\x07|\x1b\\\\)|\x1b[()*+][0-~]|\x1b[0-~]")
	// pagerRE is UCOS's pager line. Its exact wording is [unconfirmed] against a capture:
	// sessions turn pagination off first, and parsers drop the line if it shows up anyway.
	pagerRE = regexp.MustCompile(`(?i)options: q=quit, n=next, p=prev, b=begin, e=end \(lines \d+ - \d+ of \d+\) :?`)
	spaceRE = regexp.MustCompile(`[ \t\f\v]+`)
)

// Clean returns the text of a CLI answer with escapes and pager lines removed and every line
// ending (CRLF, lone CR) turned into \n, trailing blanks trimmed from each line.
func Clean(s string) string {
	s = ansiRE.ReplaceAllString(s, "")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	// A pager line at the very end is a prompt still waiting for a key: it is kept, so that
	// the session sees it (and answers q); pager lines inside an answer are dropped.
	// Only the tail is searched: the pager line is short, and an end-anchored search over
	// the whole answer would try every offset.
	from := max(0, len(s)-256)
	if loc := pagerTail.FindStringIndex(s[from:]); loc != nil {
		at := from + loc[0]
		s = pagerRE.ReplaceAllString(s[:at], "") + s[at:]
	} else {
		s = pagerRE.ReplaceAllString(s, "")
	}
	s = strings.Map(func(r rune) rune {
		if r == 0 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.Join(lines, "\n")
}

// Flat is Clean with every run of white space, line breaks included, made one space: the
// form every parser works on, so that a sample whose line breaks were lost parses the same
// as a live capture.
func Flat(s string) string {
	s = strings.ReplaceAll(Clean(s), "\n", " ")
	return strings.TrimSpace(spaceRE.ReplaceAllString(s, " "))
}

// stripEcho drops a leading "admin:" prompt and the echoed command, so that parsers accept a
// capture that starts at the prompt (as every sample in §2 does) and a bare answer alike.
func stripEcho(flat, cmd string) string {
	s := flat
	for {
		t := strings.TrimSpace(strings.TrimPrefix(s, "admin:"))
		if t == s {
			break
		}
		s = t
	}
	if cmd != "" && strings.HasPrefix(strings.ToLower(s), strings.ToLower(cmd)) {
		s = strings.TrimSpace(s[len(cmd):])
	}
	// A trailing prompt belongs to the session, not to the answer.
	for strings.HasSuffix(s, "admin:") {
		s = strings.TrimSpace(strings.TrimSuffix(s, "admin:"))
	}
	return s
}

// UnknownError is an answer a parser does not recognise. It quotes the text, made safe for a
// terminal, and says which command gave it.
type UnknownError struct {
	Command string
	Text    string
	Why     string
}

func (e *UnknownError) Error() string {
	t := e.Text
	if len(t) > 300 {
		t = t[:300] + "…"
	}
	t = strings.TrimSpace(t)
	if t == "" {
		t = "(the answer ends here)"
	}
	return "platform CLI: `" + e.Command + "`: " + e.Why + ": " + termsafe.Line(t)
}

func unknown(cmd, why, text string) error { return &UnknownError{Command: cmd, Why: why, Text: text} }

// removeSentences removes every known sentence from s (all occurrences) and returns what is
// left, spaces normalised. Sentences are compared in Flat form.
func removeSentences(s string, sentences ...string) string {
	for _, k := range sentences {
		s = strings.ReplaceAll(s, k, " ")
	}
	return strings.TrimSpace(spaceRE.ReplaceAllString(s, " "))
}
