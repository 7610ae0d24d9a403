// Package apply executes a plan: it shows it, asks, takes every target node's update lock
// (R24), signs the desired CTL on a security token that phones already trust (R19-R21), pushes
// it to every CallManager/TFTP server and alternate TFTP target (R4, R23), reads each copy back,
// sets the security mode when it changes (R10, R11), and appends one line to an audit log.
//
// Nothing leaves the machine before every file to push is signed and verified in software, and
// before every target has been re-read under the lock and found as the plan saw it: a plan is
// either applied to what it was made against or not at all. A push that fails on some servers
// leaves each of them with either the old file or the new one (the providers write atomically);
// the report says which, and the next plan lists exactly the servers still to bring in line.
//
// The package asks nothing itself: confirmation and the signer come from functions in Options,
// so the CLI, tests and a scheduler drive the same code.
package apply

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/ctlops/ctlops/live"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/spec"
	"github.com/ctlops/ctlops/token"
)

// Options are everything one apply needs.
type Options struct {
	Config *spec.Config
	// SpecPath is the spec as given with -f ("" for ./ctlops.yaml); the audit log defaults to
	// .ctlops/audit.jsonl beside it.
	SpecPath string
	// Clusters selects clusters by name (all when empty); with PlanFile, the subset of the
	// saved plan's clusters to apply.
	Clusters []string
	// PlanFile is a plan saved by `ctlops plan --out`; "" plans afresh.
	PlanFile string
	// MaxPlanAge refuses a saved plan made longer ago; DefaultMaxPlanAge when zero.
	MaxPlanAge time.Duration
	Live       live.Options
	Version    string
	// Now is the clock (signing time, audit); time.Now when nil.
	Now func() time.Time

	// AutoApprove skips the question. Otherwise Confirm asks it; a nil Confirm means nobody can
	// be asked (no terminal, --input=false), which is an error naming --auto-approve.
	AutoApprove bool
	Confirm     func(prompt string) (bool, error)

	// Out receives the plan, progress and the result; ShowPlan renders the plan on it (plain
	// text when nil).
	Out      io.Writer
	ShowPlan func(w io.Writer, p *plan.Plan) error

	// OpenSigner opens the token that signs (R19-R21); called once, after the locks are taken,
	// and only when a file must be signed. TokenOpener is the usual one.
	OpenSigner func(ctx context.Context, req SignerRequest) (token.Signer, error)
	// CheckSigner, when set, is asked before any lock is taken whether OpenSigner will be able
	// to open the signer (module, PIN source), so that a missing PIN fails before anything is
	// locked. TokenPreflight is the usual one.
	CheckSigner func(req SignerRequest) error
	// PreviewSigner, when set, is asked before the question which signer will be asked for
	// and whether it may sign the plan (R19): its answer is printed, its error stops the
	// apply before anything is locked. TokenPreview is the usual one.
	PreviewSigner func(ctx context.Context, req SignerRequest) (string, error)

	// LockTimeout is how long to wait for a lock another client holds; 0 fails at once,
	// naming the holder (R24).
	LockTimeout time.Duration
	// Lease of each lock, renewed while working; 2 minutes when zero.
	Lease time.Duration
	// RestartServices restarts CallManager and TFTP on every server that runs them (R23).
	RestartServices bool
	// Rollout chooses resets, batches and limits of the verified rollout, used for clusters
	// that declare serviceability endpoints (rollout.go).
	Rollout RolloutOptions
	// AuditLog is the JSON-lines file appended to; DefaultAuditLog(SpecPath) when "".
	AuditLog string
	// User and Host name the lock holder and the audit entry; the OS's when "".
	User, Host string
	// Progress, when set, is told of each step as it starts (tests use it to act mid-apply).
	Progress func(Progress)
	// LockWait, when set, is told while apply waits for a held lock how long the wait may still
	// last (every poll), and 0 once it ended: the CLI shows a countdown on a terminal.
	LockWait func(addr string, left time.Duration)

	// Replace names the nodes whose refused file the admin investigated and wants replaced
	// (apply --replace NODE, "NODE" or "CLUSTER/NODE"): the plan turns their refusal into a
	// replace action (plan.Inputs).
	Replace []string

	applyID   string          // ties the audit log's intent and result lines
	skipped   map[string]bool // clusters left out of this apply (skip.go)
	takenOver []BrokenLock    // locks of this user's own dead apply that were taken over (lock.go)
}

// planInputs is what the admin tells the planner beyond the spec.
func (o *Options) planInputs() plan.Inputs {
	return plan.Inputs{Replace: o.Replace}
}

// newApplyID is a random id for one apply's audit lines.
func newApplyID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Progress is one step of an apply, reported as it starts.
type Progress struct {
	Kind    string // "lock-wait", "locked", "push", "pushed", "mode", "restart", "command" (tokenless)
	Cluster string
	Server  string
	Address string
	Detail  string
}

// SignerRequest says what the signer must sign for: the clusters, their signWith, and the
// declared tokens phones already trust (R19) that would do.
type SignerRequest struct {
	Clusters []string
	SignWith *spec.SignWith
	Trusted  []plan.SignerOption
}

// ErrDeclined: the user did not type "yes".
var ErrDeclined = errors.New("apply cancelled: the plan was not confirmed")

// ErrInputNeeded: a question would have to be asked but nobody can answer.
var ErrInputNeeded = errors.New(`confirmation needed but input is disabled or stdin is not a terminal: review the plan and pass --auto-approve`)

// StaleError: the saved plan no longer describes the clusters (Terraform's "saved plan is
// stale").
type StaleError struct {
	Path    string
	Reasons []string
	// Differs: the live state is as the plan saw it but the plan made now is another plan
	// (the saved file says something this ctlops and spec would not plan).
	Differs bool
	// Fresh are the plan's clusters that alone are still the plan made now (nil when all are,
	// or none): they can be applied with --cluster.
	Fresh []string
}

func (e *StaleError) hint() string {
	if len(e.Fresh) == 0 {
		return ""
	}
	return fmt.Sprintf("; the other clusters still match it: apply them alone with --cluster %s", strings.Join(e.Fresh, " --cluster "))
}

func (e *StaleError) Error() string {
	if e.Differs {
		return fmt.Sprintf("saved plan %s is stale or was edited: it is not the plan made now from the same spec and servers:\n  %s\nmake a new plan with `ctlops plan --out %s`%s",
			e.Path, strings.Join(e.Reasons, "\n  "), e.Path, e.hint())
	}
	return fmt.Sprintf("saved plan %s is stale: %s; make a new plan with `ctlops plan --out %s`%s",
		e.Path, strings.Join(e.Reasons, "; "), e.Path, e.hint())
}

// DefaultMaxPlanAge is how old a saved plan may be: a day-old review of a fleet is already a
// guess.
const DefaultMaxPlanAge = 24 * time.Hour

// checkAge refuses plans older than MaxPlanAge, and plans dated in the future (a clock set
// wrong, or an edit).
func (o *Options) checkAge(saved *plan.Plan) error {
	limit := o.MaxPlanAge
	if limit <= 0 {
		limit = DefaultMaxPlanAge
	}
	age := o.Now().Sub(saved.Created)
	switch {
	case age > limit:
		return fmt.Errorf("saved plan %s was made %s ago (%s), older than --max-plan-age %s: make a new plan with `ctlops plan --out %s`",
			o.PlanFile, age.Round(time.Second), saved.Created.Format(time.RFC3339), limit, o.PlanFile)
	case age < -5*time.Minute:
		return fmt.Errorf("saved plan %s is dated %s, in the future: make a new plan with `ctlops plan --out %s`", o.PlanFile, saved.Created.Format(time.RFC3339), o.PlanFile)
	}
	return nil
}

// DefaultAuditLog is .ctlops/audit.jsonl in the spec's directory (the spec directory itself
// when the spec is a directory of files).
func DefaultAuditLog(specPath string) string {
	if specPath == "" {
		specPath = spec.DefaultFile
	}
	dir := filepath.Dir(specPath)
	if fi, err := os.Stat(specPath); err == nil && fi.IsDir() {
		dir = specPath
	}
	return filepath.Join(dir, ".ctlops", "audit.jsonl")
}

func (o *Options) defaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.ShowPlan == nil {
		o.ShowPlan = func(w io.Writer, p *plan.Plan) error { return p.WriteText(w, plan.TextOptions{}) }
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	if o.AuditLog == "" {
		o.AuditLog = DefaultAuditLog(o.SpecPath)
	}
	if o.User == "" {
		if u, err := user.Current(); err == nil {
			o.User = u.Username
		} else {
			o.User = os.Getenv("USER")
		}
	}
	if o.Host == "" {
		o.Host, _ = os.Hostname()
	}
	if o.Live.Parallelism <= 0 {
		o.Live.Parallelism = 10
	}
}

// MinLease is the shortest lock lease: the lease is renewed at a third of it, and the
// providers count it in whole seconds (a shorter one would be rounded up, and a zero
// renewal period panics).
const MinLease = time.Second

// validate checks the durations before anything is read or locked, so a bad flag is an error
// naming it rather than a failure (or a panic) with locks held.
func (o *Options) validate() error {
	switch {
	case o.Lease < 0 || o.Lease > 0 && o.Lease < MinLease:
		return fmt.Errorf("--lock-lease %s is too short: at least %s (the lock is renewed at a third of its lease)", o.Lease, MinLease)
	case o.Lease > 24*time.Hour:
		return fmt.Errorf("--lock-lease %s is too long: at most 24h, so that a crashed apply's locks expire", o.Lease)
	case o.LockTimeout < 0:
		return fmt.Errorf("--lock-timeout %s is negative", o.LockTimeout)
	case o.MaxPlanAge < 0:
		return fmt.Errorf("--max-plan-age %s is negative", o.MaxPlanAge)
	case o.Live.Timeout < 0:
		return fmt.Errorf("--timeout %s is negative", o.Live.Timeout)
	}
	return nil
}

func (o *Options) event(e Progress) {
	if o.Progress != nil {
		o.Progress(e)
	}
}

// Run plans (or loads and checks a saved plan), shows it, asks, and applies it. The Result is
// non-nil whenever a plan was made; its NoChanges and Clusters say what happened. The error is
// ErrDeclined when the user said no, a *StaleError for a stale plan, a *PushError when some
// servers could not be brought in line, and a *SkipError when some clusters could not be
// applied (the others were).
func Run(ctx context.Context, o Options) (*Result, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	o.defaults()
	if o.Config == nil {
		return nil, errors.New("apply: no spec")
	}
	var p *plan.Plan
	var err error
	if o.PlanFile != "" {
		p, err = o.savedPlan(ctx)
		if err != nil {
			if p != nil {
				return &Result{Plan: p}, err
			}
			return nil, err
		}
	} else {
		lo := o.Live
		lo.Plan = o.planInputs()
		p, err = live.Plan(ctx, o.Config, o.Clusters, lo, o.Version, o.Now())
		if err != nil {
			return nil, err
		}
		if err := o.ShowPlan(o.Out, p); err != nil {
			return nil, err
		}
	}
	res := &Result{Plan: p}
	res.Skipped = skips(o.Config, p)
	o.skipped = skippedSet(res.Skipped)
	var names []string
	for _, c := range p.Clusters {
		if c.Summary.Changes && !o.skipped[c.Name] {
			names = append(names, c.Name)
		}
	}
	if len(names) == 0 {
		if len(res.Skipped) > 0 {
			return res, &SkipError{Skipped: res.Skipped}
		}
		res.NoChanges = true
		fmt.Fprintln(o.Out, "\nNo changes. Every server holds the declared CTL; nothing to apply.")
		return res, nil
	}
	writeSkipped(&o, res.Skipped)
	if err := o.checkModeRollout(p, names); err != nil { // apply/rollout_mode.go
		return res, err
	}
	if err := o.previewSigner(ctx, p); err != nil {
		return res, err
	}
	if !o.AutoApprove {
		if o.Confirm == nil {
			return res, ErrInputNeeded
		}
		ok, err := o.Confirm(confirmPrompt(p, o.skipped)) // apply/tokenless.go
		if err != nil && ctx.Err() != nil {
			return res, fmt.Errorf("stopped at the question; nothing was locked or written: %w", err)
		}
		if err != nil {
			return res, err
		}
		if !ok {
			return res, ErrDeclined
		}
	}
	if err := applyAll(ctx, &o, p, res); err != nil { // apply/tokenless.go: token clusters, then tokenless
		return res, err
	}
	if len(res.Skipped) > 0 {
		return res, &SkipError{Skipped: res.Skipped, Applied: names}
	}
	return res, nil
}
