package plan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/ctlops/ctlops/internal/atomicfile"
	"github.com/ctlops/ctlops/spec"
)

// New plans every cluster of cfg that lives has an entry for, in the spec's order.
func New(cfg *spec.Config, lives map[string]*Live, version string, now time.Time) *Plan {
	p := &Plan{FormatVersion: FormatVersion, CtlopsVersion: version, SpecDigest: cfg.Digest(), Created: now.UTC(), Clusters: []*Cluster{}}
	for _, c := range cfg.Clusters {
		if l, ok := lives[c.Name]; ok {
			p.Clusters = append(p.Clusters, Build(c, l, now))
		}
	}
	return p
}

// Digest identifies a plan (for the audit log): sha256 of its JSON.
func (p *Plan) Digest() string {
	b, _ := json.Marshal(p)
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// Save writes the plan file atomically, so an interrupted `plan --out` never leaves half a
// plan for apply to read.
func (p *Plan) Save(path string) error {
	var buf bytes.Buffer
	if err := p.WriteJSON(&buf); err != nil {
		return err
	}
	return atomicfile.Write(path, buf.Bytes(), 0o644)
}

// Load reads a plan file written by Save, refusing other format versions.
func Load(path string) (*Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p Plan
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%s: not a ctlops plan file: %v", path, err)
	}
	if p.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("%s: plan format version %d, this ctlops reads %d: make the plan again with this version", path, p.FormatVersion, FormatVersion)
	}
	return &p, nil
}

// Stale compares a saved plan with one made now from the same spec path: the spec, every
// server's file and everything the desired file is computed from must be as they were, or the
// saved plan no longer says what apply would do. It returns what changed, empty when fresh.
func Stale(saved, now *Plan) []string {
	var why []string
	if saved.SpecDigest != now.SpecDigest {
		why = append(why, fmt.Sprintf("the spec changed (%s, now %s)", saved.SpecDigest, now.SpecDigest))
	}
	fresh := map[string]*Cluster{}
	for _, c := range now.Clusters {
		fresh[c.Name] = c
	}
	for _, s := range saved.Clusters {
		n, ok := fresh[s.Name]
		if !ok {
			why = append(why, fmt.Sprintf("cluster %s is no longer in the spec", s.Name))
			continue
		}
		if n.Error != "" {
			why = append(why, fmt.Sprintf("cluster %s: %s", s.Name, n.Error))
			continue
		}
		digests := map[string]string{}
		for _, t := range n.Targets {
			digests[t.Address] = t.Digest
		}
		for _, t := range s.Targets {
			d, ok := digests[t.Address]
			switch {
			case !ok:
				why = append(why, fmt.Sprintf("cluster %s: server %s (%s) is no longer a target", s.Name, t.Server, t.Address))
			case d != t.Digest:
				why = append(why, fmt.Sprintf("cluster %s: server %s now holds %s, the plan saw %s", s.Name, t.Server, short(d), short(t.Digest)))
			}
			delete(digests, t.Address)
		}
		for addr := range digests {
			why = append(why, fmt.Sprintf("cluster %s: new target %s", s.Name, addr))
		}
		if s.Mode != n.Mode {
			why = append(why, fmt.Sprintf("cluster %s: security mode is now %s, the plan saw %s", s.Name, n.Mode.From, s.Mode.From))
		}
		var sd, nd []byte
		if s.Desired != nil {
			sd = s.Desired.Data
		}
		if n.Desired != nil {
			nd = n.Desired.Data
		}
		if !bytes.Equal(sd, nd) {
			why = append(why, fmt.Sprintf("cluster %s: the inventory changed since the plan was made, so the desired CTL differs (R22)", s.Name))
		}
	}
	return why
}

func short(d string) string {
	if d == "" {
		return "no file"
	}
	if len(d) > 12 {
		return "sha256 " + d[:12] + "…"
	}
	return d
}
