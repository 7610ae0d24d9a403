package plan

import (
	"encoding/json"
	"io"

	"github.com/ctlops/ctlops/internal/termsafe"
)

// The JSON view is the typed plan itself, with each problem, reason, note, step and server
// state also carrying its sentence ("message", "text", "note") for readers that only show
// text. Those sentences are output only: reading a plan back ignores them, and nothing
// compares them.

// WriteJSON renders the versioned JSON view.
func (p *Plan) WriteJSON(w io.Writer) error {
	return termsafe.WriteJSON(w, p) // servers' words, escaped for a terminal, the same values
}

// MarshalJSON adds the message.
func (p Problem) MarshalJSON() ([]byte, error) {
	type plain Problem
	return json.Marshal(struct {
		plain
		Message string `json:"message"`
	}{plain(p), p.Message()})
}

// MarshalJSON adds the text.
func (r Reason) MarshalJSON() ([]byte, error) {
	type plain Reason
	return json.Marshal(struct {
		plain
		Text string `json:"text,omitempty"`
	}{plain(r), r.String()})
}

// MarshalJSON adds the text.
func (s Step) MarshalJSON() ([]byte, error) {
	type plain Step
	return json.Marshal(struct {
		plain
		Text string `json:"text"`
	}{plain(s), s.String()})
}

// MarshalJSON adds the note.
func (n IMAndPresenceNode) MarshalJSON() ([]byte, error) {
	type plain IMAndPresenceNode
	return json.Marshal(struct {
		plain
		Note string `json:"note"`
	}{plain(n), n.Note()})
}

// MarshalJSON adds the note.
func (t TargetState) MarshalJSON() ([]byte, error) {
	type plain TargetState
	return json.Marshal(struct {
		plain
		Note string `json:"note,omitempty"`
	}{plain(t), t.Note()})
}
