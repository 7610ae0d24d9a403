// Package progress carries what a long read is doing (servers read of those known, which are
// still pending) from the code that does it to whoever shows it, so that a slow or dead server
// is not silence (issue 17). The reading code (package live) only sees the Reporter
// interface and imports no terminal code; the command picks Lines off a terminal.
package progress

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/ctlops/ctlops/internal/termsafe"
)

// Kind is what happened.
type Kind int

const (
	// Started: a server's read began (it is now pending).
	Started Kind = iota
	// Done: a server's read ended; Err says how, "" for success.
	Done
)

// Event is one step of a read. Cluster and Server name the server as the spec and inventory
// do; they come from outside and are made safe before printing.
type Event struct {
	Kind    Kind
	Cluster string
	Server  string
	Err     string
}

// Reporter receives events, from many goroutines at once.
type Reporter interface {
	Report(Event)
}

// Nop reports nothing: the default when no Reporter is given.
type Nop struct{}

// Report does nothing.
func (Nop) Report(Event) {}

// Tally counts the servers seen and done, and names those still pending; the views share it.
type Tally struct {
	mu      sync.Mutex
	total   int
	done    int
	pending map[string]bool
}

// Add records e and returns the counts after it and the pending servers, sorted.
func (t *Tally) Add(e Event) (done, total int, pending []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pending == nil {
		t.pending = map[string]bool{}
	}
	key := name(e)
	switch e.Kind {
	case Started:
		t.total++
		t.pending[key] = true
	case Done:
		t.done++
		delete(t.pending, key)
	}
	for k := range t.pending {
		pending = append(pending, k)
	}
	sort.Strings(pending)
	return t.done, t.total, pending
}

func name(e Event) string {
	if e.Cluster == "" {
		return termsafe.Line(e.Server)
	}
	return termsafe.Line(e.Cluster) + "/" + termsafe.Line(e.Server)
}

// Lines writes one line per finished read to w (stderr off a terminal), e.g.
// "ctlops: read hq/cm1 (2/3; pending: hq/cm3)". Starts are not printed: the count says them.
func Lines(w io.Writer) Reporter { return &lines{w: w} }

type lines struct {
	mu sync.Mutex
	w  io.Writer
	t  Tally
}

func (l *lines) Report(e Event) {
	done, total, pending := l.t.Add(e)
	if e.Kind != Done {
		return
	}
	verb := "read"
	if e.Err != "" {
		verb = "failed"
	}
	line := fmt.Sprintf("ctlops: %s %s (%d/%d", verb, name(e), done, total)
	if len(pending) > 0 {
		line += "; pending: " + strings.Join(pending, ", ")
	}
	line += ")"
	if e.Err != "" {
		line += ": " + termsafe.Line(e.Err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintln(l.w, line)
}

// Terminal keeps one status line on a terminal w, rewritten in place as reads end, e.g.
// "reading 2/3 (pending: hq/cm3)", and erased once nothing is pending, so that what the command
// prints next starts on a clean line. Failures are not printed here: the command reports them
// with the plan.
func Terminal(w io.Writer) Reporter { return &terminal{w: w} }

type terminal struct {
	mu sync.Mutex
	w  io.Writer
	t  Tally
}

// ClearLine returns the cursor to the line's start and erases it (ANSI EL).
const ClearLine = "\r\x1b[K"

func (p *terminal) Report(e Event) {
	done, total, pending := p.t.Add(e)
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(pending) == 0 {
		fmt.Fprint(p.w, ClearLine)
		return
	}
	line := fmt.Sprintf("reading %d/%d (pending: %s)", done, total, strings.Join(pending, ", "))
	if r := []rune(line); len(r) > 76 { // one terminal line: a long list of pending servers is cut
		line = string(r[:75]) + "…"
	}
	fmt.Fprint(p.w, ClearLine+line)
}
