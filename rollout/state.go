package rollout

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// StateVersion is the version of the State encoding.
const StateVersion = 1

// MaxStateSize bounds an encoded State read back from an audit trail.
const MaxStateSize = 4 << 20

// State is what a rollout has done so far: enough to continue it later (after Ctrl-C, a kill,
// a node that did not come back) without signing or pushing again, and small enough to be an
// audit line's field. It only grows: a step is recorded once it completed and was verified.
type State struct {
	Version int    `json:"version"`
	Cluster string `json:"cluster"`
	// Before are the counts taken before anything was restarted or reset.
	Before *Counts `json:"before,omitempty"`
	// Phones are the phones registered before, by name: the reset set and what "back" means.
	// With ModeChange, a phone deferred at a CallManager restart that registered only after
	// the before counts joins them (before any reset).
	Phones []string `json:"phones,omitempty"`
	// TFTPDone and CallManagerDone name the nodes whose restart completed and was verified.
	TFTPDone        []string `json:"tftp_done,omitempty"`
	CallManagerDone []string `json:"callmanager_done,omitempty"`
	// Skipped are "node service" pairs not restarted because the node does not run the
	// service (not activated or stopped); they count as done.
	Skipped []string `json:"skipped,omitempty"`
	// ModeChange records Options.ModeChange: the apply also changed the security mode, so
	// CallManager restarts wait for the service only. Absent (false) in files written before
	// it existed, which continue as they began.
	ModeChange bool `json:"mode_change,omitempty"`
	// Deferred are the phones (sorted) registered to a node before its CallManager restart
	// and not registered again when the service was Started, with ModeChange: their
	// verification is left to the reset batches.
	Deferred []string `json:"deferred,omitempty"`
	// ResetDone is how many of Phones (in order) were reset and came back.
	ResetDone int `json:"reset_done,omitempty"`
	// Complete is set once the after counts were taken with nothing left to do.
	Complete bool `json:"complete,omitempty"`
	// Stopped says why the last run stopped short ("" while running or when complete).
	Stopped string `json:"stopped,omitempty"`
}

// Encode is the State as one line of JSON.
func (s *State) Encode() (string, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// DecodeState reads an encoded State, refusing what Encode cannot have written.
func DecodeState(data string) (*State, error) {
	if len(data) > MaxStateSize {
		return nil, fmt.Errorf("rollout state: %d bytes, more than %d", len(data), MaxStateSize)
	}
	d := json.NewDecoder(strings.NewReader(data))
	d.DisallowUnknownFields()
	var s State
	if err := d.Decode(&s); err != nil {
		return nil, fmt.Errorf("rollout state: %v", err)
	}
	if d.More() {
		return nil, errors.New("rollout state: data after the JSON object")
	}
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("rollout state: %w", err)
	}
	return &s, nil
}

func (s *State) check() error {
	if s.Version != StateVersion {
		return fmt.Errorf("version %d, want %d", s.Version, StateVersion)
	}
	if s.Cluster == "" {
		return errors.New("no cluster")
	}
	if s.Before == nil && (len(s.Phones) > 0 || len(s.TFTPDone) > 0 || len(s.CallManagerDone) > 0 || len(s.Deferred) > 0 || s.ResetDone > 0) {
		return errors.New("steps recorded without before counts")
	}
	if s.ResetDone < 0 || s.ResetDone > len(s.Phones) {
		return fmt.Errorf("reset_done %d out of range 0..%d", s.ResetDone, len(s.Phones))
	}
	if len(s.Deferred) > 0 && !s.ModeChange {
		return errors.New("deferred phones without a mode change")
	}
	if err := sortedSet("phones", s.Phones); err != nil {
		return err
	}
	return sortedSet("deferred", s.Deferred)
}

// sortedSet refuses a list of names that is not sorted or names one twice.
func sortedSet(what string, list []string) error {
	if !sort.StringsAreSorted(list) {
		return fmt.Errorf("%s not sorted", what)
	}
	for i := 1; i < len(list); i++ {
		if list[i] == list[i-1] {
			return fmt.Errorf("%s: %q listed twice", what, list[i])
		}
	}
	return nil
}

// addSorted adds names to a sorted set, keeping it sorted and without duplicates.
func addSorted(set []string, names ...string) []string {
	for _, n := range names {
		i := sort.SearchStrings(set, n)
		if i < len(set) && set[i] == n {
			continue
		}
		set = append(set, "")
		copy(set[i+1:], set[i:])
		set[i] = n
	}
	return set
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
