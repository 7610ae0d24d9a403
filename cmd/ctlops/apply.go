package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctlops/ctlops/apply"
	"github.com/ctlops/ctlops/internal/termsafe"
	"github.com/ctlops/ctlops/live"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/spec"
	"github.com/ctlops/ctlops/token"
)

func init() { register(newApplyCmd) }

func newApplyCmd() *cobra.Command {
	var f planFlags
	var autoApprove, input, restart bool
	var lockTimeout, lease, maxAge time.Duration
	var tok apply.TokenOptions
	var auditLog string
	var rf *rolloutFlags
	cmd := &cobra.Command{
		Use:   "apply [PLANFILE]",
		Short: "Sign the declared CTL on a security token and push it to every server",
		Long: `apply shows the plan (a fresh one, or PLANFILE saved by 'ctlops plan --out'), asks
'Type "yes" to apply', takes the update lock of every server it writes (R24), signs the new
CTL on a security token that phones already trust (R19-R21), pushes it to every
CallManager/TFTP server and alternate TFTP target (R4, R23), reads each copy back, sets the
security mode when it changes (R10, R11) and appends one line to the audit log.

A saved plan is only the statement of what was approved: apply plans again and applies
only if the fresh plan is the same plan (every cluster's actions, desired file, targets,
mode, refusals, signers); otherwise it is refused as stale, naming the difference. A plan
file that was edited, has data after it, is the JSON view (plan --format json) rather than
a file saved with --out, or is older than --max-plan-age (24h) is refused. A push that fails on some servers reports what
each holds and exits 1; run 'ctlops plan' and apply again to bring the rest in line.

A cluster that cannot be applied (refused, suspended, unplannable) does not hold up the
others: they are applied, the skipped ones are named with their reasons before the question
and in the report, and apply exits 6. --cluster with PLANFILE applies that subset of it.

A node whose file fails its check or has an unknown signer refuses the plan (possible
tampering). Once you have investigated, --replace NODE (or CLUSTER/NODE; repeatable) makes
its refusal a "replace-file" action of the plan, written with the providers' R19 override
and recorded in the audit log. A saved plan must have been made with the same --replace.

A lock left by an earlier apply of the same user@host whose process no longer runs is taken
over (and audited); any other held lock is named with its lease and the unlock command.

The token: --token-label/--token-serial, else signWith in the spec, else the only one
inserted (R20). The PIN: --pin-file, CTLOPS_TOKEN_PIN, signWith.pkcs11.pin, or a prompt
without echo on a terminal (R21), asked again after a wrong PIN while the token is not
locked. Ctrl-C at any prompt stops the apply and releases every lock.

Exit status: 0 applied or nothing to do; 1 error; 3 declined at the prompt; 6 some
clusters applied, others skipped; 130/143 stopped by a signal.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			stdin, stdout, stderr := cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			if len(args) == 1 && f.file == "" {
				f.file = recordedSpec(args[0], stderr)
			}
			cfg, err := f.load(stderr)
			if err != nil {
				return err
			}
			_, tty := token.TerminalFD(stdin)
			tok.Input, tok.Stdin, tok.Prompt = input, stdin, stderr
			o := f.applyOptions(cfg, autoApprove, stdout, auditLog)
			o.Live.Progress = progressFor(stderr)
			o.LockWait = lockCountdown(stderr)
			o.ShowPlan = func(w io.Writer, p *plan.Plan) error {
				return renderPlan(w, p, "text", &f, "ctlops apply", "")
			}
			o.OpenSigner, o.CheckSigner, o.PreviewSigner = apply.TokenOpener(tok), apply.TokenPreflight(tok), apply.TokenPreview(tok)
			o.LockTimeout, o.Lease, o.RestartServices, o.MaxPlanAge = lockTimeout, lease, restart, maxAge
			if len(args) == 1 {
				o.PlanFile = args[0]
			}
			o.Replace = f.replace
			if input && tty {
				o.Confirm = confirmYes(ctx, stdin, stderr)
			}
			if o.Rollout, err = rf.options(); err != nil {
				return err
			}
			if rf.resume {
				_, err = apply.ResumeRollout(ctx, o)
			} else {
				_, err = apply.Run(ctx, o)
			}
			var skip *apply.SkipError
			switch {
			case errors.Is(err, apply.ErrDeclined):
				fmt.Fprintln(stderr, "Apply cancelled.")
				return exitCode(exitDeclined, nil)
			case errors.As(err, &skip) && len(skip.Applied) > 0:
				return exitCode(exitPartial, err)
			case err != nil:
				return err
			}
			return nil
		},
	}
	f.add(cmd)
	addReplaceFlag(cmd, &f)
	addExpiryFlag(cmd, &f.expiryWindow)
	fl := cmd.Flags()
	fl.BoolVar(&autoApprove, "auto-approve", false, "apply without asking (CI)")
	fl.BoolVar(&input, "input", true, "ask questions on the terminal; --input=false makes every question an error naming the flag that answers it")
	fl.DurationVar(&lockTimeout, "lock-timeout", 0, "wait this long for an update lock another client holds (0: fail at once, naming the holder)")
	fl.DurationVar(&lease, "lock-lease", 2*time.Minute, "lease of each update lock, renewed while applying; a crashed apply's locks expire after it")
	fl.DurationVar(&maxAge, "max-plan-age", apply.DefaultMaxPlanAge, "refuse a saved PLANFILE made longer ago than this")
	fl.StringVar(&tok.Module, "pkcs11-module", "", "PKCS#11 module (default $CTLOPS_PKCS11_MODULE, else signWith.pkcs11.module)")
	fl.StringVar(&tok.Label, "token-label", "", "sign with the token that has this label")
	fl.StringVar(&tok.Serial, "token-serial", "", "sign with the token that has this serial")
	fl.StringVar(&tok.PINFile, "pin-file", "", "read the token PIN from the first line of FILE (default $CTLOPS_TOKEN_PIN, else ask)")
	fl.BoolVar(&restart, "restart-services", false, "restart CallManager and TFTP on every server that runs them (R23)")
	fl.StringVar(&auditLog, "audit-log", "", "append the audit line here (default .ctlops/audit.jsonl beside the spec)")
	rf = addRolloutFlags(fl)
	return cmd
}

// addReplaceFlag adds --replace to plan and apply: the same input must make the saved plan
// and the apply, or the two are different plans.
func addReplaceFlag(cmd *cobra.Command, f *planFlags) {
	cmd.Flags().StringArrayVar(&f.replace, "replace", nil, "replace the refused file (fails its check, unknown signer) of NODE or CLUSTER/NODE after you investigated it; repeatable; shown in the plan as a replace-file action and audited")
}

// applyOptions are what apply and unlock share: the spec, the selected clusters, how to read
// the servers, whether to ask, where to report and audit.
func (f *planFlags) applyOptions(cfg *spec.Config, autoApprove bool, out io.Writer, auditLog string) apply.Options {
	return apply.Options{
		Config: cfg, SpecPath: f.file, Clusters: f.clusters, Version: version,
		Live:        live.Options{Parallelism: f.parallelism, Timeout: f.timeout},
		AutoApprove: autoApprove, Out: out, AuditLog: auditLog,
	}
}

// confirmYes asks on the terminal; only "yes" confirms. Ctrl-C while it waits ends ctx and
// the question with it (nothing is locked yet; the CLI exits 130).
func confirmYes(ctx context.Context, stdin io.Reader, stderr io.Writer) func(string) (bool, error) {
	return func(prompt string) (bool, error) {
		var line string
		var err error
		fmt.Fprint(stderr, prompt)
		if fd, tty := token.TerminalFD(stdin); tty {
			var b []byte
			b, err = token.ReadLine(ctx, fd, true)
			line = string(b)
		} else {
			line, err = readLine(stdin)
		}
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		if err != nil && line == "" {
			return false, fmt.Errorf("reading the answer: %w", err)
		}
		return strings.TrimSpace(line) == "yes", nil
	}
}

// readLine reads up to a newline one byte at a time, so that nothing after the answer is
// taken from stdin (the token choice and PIN prompts read it next).
func readLine(r io.Reader) (string, error) {
	var b strings.Builder
	buf := make([]byte, 1)
	for {
		n, err := r.Read(buf)
		if n == 1 {
			if buf[0] == '\n' {
				return b.String(), nil
			}
			b.WriteByte(buf[0])
		}
		if err != nil {
			return b.String(), err
		}
		if b.Len() > 1024 {
			return b.String(), nil
		}
	}
}

// recordedSpec is the spec a plan file recorded (issue 17: `apply PLANFILE` from another
// directory), used when -f is not given and ./ctlops.yaml is not there. The plan file is
// untrusted: the path only says where to look; the fresh plan made from that spec must still
// be the saved one (its spec digest included), and the spec used is named on stderr.
func recordedSpec(planFile string, stderr io.Writer) string {
	if _, err := os.Stat("ctlops.yaml"); err == nil {
		return ""
	}
	p, err := plan.Load(planFile)
	if err != nil || p.SpecFile == "" {
		return "" // apply reports a bad plan file itself
	}
	if _, err := os.Stat(p.SpecFile); err != nil {
		return ""
	}
	fmt.Fprintf(stderr, "using the spec the plan file recorded: %s (give -f to use another)\n", termsafe.Line(p.SpecFile))
	return p.SpecFile
}
