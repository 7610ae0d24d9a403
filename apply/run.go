package apply

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/live"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/spec"
)

// Result is what an apply did.
type Result struct {
	Plan      *plan.Plan
	NoChanges bool
	// Signer is set when a file was signed.
	Signer   *SignerInfo
	Clusters []*ClusterResult
}

// SignerInfo identifies the token that signed, for the report and the audit log.
type SignerInfo struct {
	Description       string `json:"description"`
	Subject           string `json:"subject"`
	Serial            string `json:"serial"`
	CertificateSHA256 string `json:"certificate_sha256"`
}

// ClusterResult is one cluster's outcome.
type ClusterResult struct {
	Name string `json:"cluster"`
	// Digest is the SHA-256 of the file pushed; "" when no file was pushed (mode only).
	Digest  string          `json:"digest,omitempty"`
	Signed  bool            `json:"signed"`
	Targets []*TargetResult `json:"targets"`
	// Mode is the security mode set on every node, "" when it did not change.
	Mode      string   `json:"mode,omitempty"`
	ModeSetOn []string `json:"mode_set_on,omitempty"`
	Restarted []string `json:"restarted,omitempty"`
	Problems  []string `json:"problems,omitempty"`
	// Rollout is the verified rollout through the serviceability APIs (rollout.go).
	Rollout *RolloutReport `json:"rollout,omitempty"`
}

// TargetResult is one server's outcome. Holds is what it holds now as far as ctlops knows:
// read back after the push, or "?" when it could not be read.
type TargetResult struct {
	Server    string `json:"server"`
	Address   string `json:"address"`
	Alternate bool   `json:"alternate,omitempty"`
	Before    string `json:"before"`
	Holds     string `json:"holds"`
	// Status: "updated", "unchanged" (already held the file), "failed", "not pushed".
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// unknown is what Holds says when a server could not be read back.
const unknown = "?"

// PushError: some servers were not brought in line. Each is listed with what it holds.
type PushError struct {
	// Failed are the servers whose push failed, with what each holds.
	Failed []string
	// Problems are the steps after the push that failed (mode, restarts).
	Problems    []string
	Interrupted bool
}

func (e *PushError) Error() string {
	what := "apply failed"
	if e.Interrupted {
		what = "apply interrupted"
	}
	var parts []string
	if len(e.Failed) > 0 {
		parts = append(parts, fmt.Sprintf("%d server(s) not brought in line (%s); every server holds either its old file or the new one",
			len(e.Failed), strings.Join(e.Failed, ", ")))
	}
	parts = append(parts, e.Problems...)
	return what + ": " + strings.Join(parts, "; ") + ": run `ctlops plan` to see what is left and apply again"
}

// node is one server whose update lock is held (R24): a cluster node or an alternate TFTP
// server, whatever file locations on it are written.
type node struct {
	addr string
	w    provider.Writer
	lock *provider.Lock
}

// target is one place a cluster's file goes.
type target struct {
	c      *plan.Cluster
	ts     plan.TargetState
	w      provider.Writer
	node   *node
	cur    []byte // what it holds under the lock
	digest string
	file   *ctl.File
	res    *TargetResult
}

// work is one cluster being applied.
type work struct {
	c       *plan.Cluster
	spec    *spec.Cluster
	targets []*target
	data    []byte // the file to push, nil when only the mode changes
	sign    bool
	res     *ClusterResult
}

func apply(ctx context.Context, o *Options, p *plan.Plan, res *Result) (err error) {
	works, nodes, err := openTargets(o, p)
	if err != nil {
		return err
	}
	// A signer that cannot be opened fails here, before any lock: nothing reached a server.
	if err := o.checkSigner(works); err != nil {
		return err
	}
	for _, w := range works {
		res.Clusters = append(res.Clusters, w.res)
	}
	started := o.Now()
	defer func() {
		if aerr := writeAudit(o, p, res, started, err); aerr != nil {
			fmt.Fprintf(o.Out, "warning: audit log %s: %v\n", o.AuditLog, aerr)
			if err == nil {
				err = fmt.Errorf("audit log %s: %w", o.AuditLog, aerr)
			}
		}
	}()

	fmt.Fprintf(o.Out, "\nTaking the update lock of %d server(s) (R24)...\n", len(nodes))
	if err := o.lockAll(ctx, nodes); err != nil {
		o.releaseAll(nodes, res)
		return err
	}
	workCtx, cancel := context.WithCancel(ctx)
	lost := o.renew(workCtx, cancel, nodes)
	defer func() {
		cancel()
		if l := lost(); l != nil && err == nil {
			err = l
		}
		o.releaseAll(nodes, res)
	}()

	if err := o.readUnderLock(workCtx, works); err != nil {
		return err
	}
	if err := o.prepare(workCtx, works, res); err != nil {
		return err
	}
	o.push(workCtx, works)
	o.finish(workCtx, works)
	if l := lost(); l != nil {
		return l
	}
	return o.report(ctx, works)
}

// openTargets opens a writer per target and one lock holder per server address, sorted by
// address so that two applies always take locks in the same order.
func openTargets(o *Options, p *plan.Plan) ([]*work, []*node, error) {
	byAddr := map[string]*node{}
	var works []*work
	for _, c := range p.Clusters {
		if !c.Summary.Changes {
			continue
		}
		sc := o.Config.Cluster(c.Name)
		if sc == nil {
			return nil, nil, fmt.Errorf("cluster %s is in the plan but not in the spec", c.Name)
		}
		w := &work{c: c, spec: sc, res: &ClusterResult{Name: c.Name, Targets: []*TargetResult{}}}
		po, err := live.ProviderOptions(sc, o.Live)
		if err != nil {
			return nil, nil, err
		}
		for _, ts := range c.Targets {
			opts, err := targetOptions(o.Config, sc, po, ts, o.Live)
			if err != nil {
				return nil, nil, err
			}
			wr, err := provider.OpenWriter(ts.Address, opts)
			if err != nil {
				return nil, nil, fmt.Errorf("cluster %s: server %s: %w", c.Name, ts.Server, err)
			}
			n := byAddr[ts.Address]
			if n == nil {
				lo := opts
				lo.Location = ""
				lw, err := provider.OpenWriter(ts.Address, lo)
				if err != nil {
					return nil, nil, fmt.Errorf("cluster %s: server %s: %w", c.Name, ts.Server, err)
				}
				n = &node{addr: ts.Address, w: lw}
				byAddr[ts.Address] = n
			}
			tr := &TargetResult{Server: ts.Server, Address: ts.Address, Alternate: ts.Alternate, Before: ts.Digest, Holds: ts.Digest, Status: "not pushed"}
			w.targets = append(w.targets, &target{c: c, ts: ts, w: wr, node: n, res: tr})
			w.res.Targets = append(w.res.Targets, tr)
		}
		works = append(works, w)
	}
	nodes := make([]*node, 0, len(byAddr))
	for _, n := range byAddr {
		nodes = append(nodes, n)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].addr < nodes[j].addr })
	return works, nodes, nil
}

// targetOptions are the provider options to write one target: the cluster's own (po), or for an
// alternate TFTP server those of its cluster with this cluster's alternate location.
func targetOptions(cfg *spec.Config, sc *spec.Cluster, po provider.Options, ts plan.TargetState, lo live.Options) (provider.Options, error) {
	if !ts.Alternate {
		return po, nil
	}
	decl, ok := alternateDecl(sc, ts.Address)
	if !ok {
		return po, fmt.Errorf("cluster %s: alternate TFTP target %s is not declared in the spec", sc.Name, ts.Address)
	}
	return live.AlternateOptions(cfg, sc, decl, lo)
}

func alternateDecl(c *spec.Cluster, addr string) (spec.AlternateTFTP, bool) {
	for _, a := range c.AlternateTFTP {
		if a.Addr() == addr {
			return a, true
		}
	}
	return spec.AlternateTFTP{}, false
}

// lockPoll is how often a held lock is asked for again while --lock-timeout runs.
const lockPoll = 200 * time.Millisecond

// lockAll takes every node's lock in order; on failure the caller releases those taken.
func (o *Options) lockAll(ctx context.Context, nodes []*node) error {
	req := provider.LockRequest{User: o.User, Host: o.Host, Operation: "ctlops apply", Lease: o.Lease}
	for _, n := range nodes {
		deadline := time.Now().Add(o.LockTimeout)
		waiting := false
		for {
			l, err := n.w.Lock(ctx, req)
			if err == nil {
				n.lock = l
				o.event(Event{Kind: "locked", Address: n.addr})
				break
			}
			if !errors.Is(err, provider.ErrLocked) {
				return fmt.Errorf("taking the update lock: %w", err)
			}
			holder := "another client"
			var pe *provider.Error
			if errors.As(err, &pe) && pe.Holder != nil {
				holder = pe.Holder.String()
			}
			if !time.Now().Before(deadline) {
				if o.LockTimeout > 0 {
					return fmt.Errorf("server %s: the update lock is still held by %s after %s (R24); nothing was changed", n.addr, holder, o.LockTimeout)
				}
				return fmt.Errorf("server %s: the update lock is held by %s (R24): another apply is running; nothing was changed. Wait for it, or give --lock-timeout to wait", n.addr, holder)
			}
			if !waiting {
				waiting = true
				fmt.Fprintf(o.Out, "  %s: lock held by %s; waiting up to %s\n", n.addr, holder, time.Until(deadline).Round(time.Second))
				o.event(Event{Kind: "lock-wait", Address: n.addr, Detail: holder})
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(lockPoll):
			}
		}
	}
	return nil
}

// renew keeps every lock alive while the apply works; losing one cancels the work, and lost
// says which.
func (o *Options) renew(ctx context.Context, cancel context.CancelFunc, nodes []*node) (lost func() error) {
	var mu sync.Mutex
	var lostErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(o.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			for _, n := range nodes {
				if _, err := n.w.RenewLock(ctx, n.lock.ID, o.Lease); err != nil && ctx.Err() == nil {
					mu.Lock()
					msg := strings.ReplaceAll(err.Error(), n.lock.ID, "<lock id>")
					lostErr = fmt.Errorf("server %s: the update lock was lost while applying (%s); servers may hold different files: run `ctlops plan`", n.addr, msg)
					mu.Unlock()
					cancel()
					return
				}
			}
		}
	}()
	return func() error {
		select {
		case <-done:
		default:
			if ctx.Err() == nil {
				return nil
			}
			<-done
		}
		mu.Lock()
		defer mu.Unlock()
		return lostErr
	}
}

// releaseAll gives back every lock taken, with a context of its own: it runs after an error
// or Ctrl-C too, when the apply's context is already cancelled.
func (o *Options) releaseAll(nodes []*node, res *Result) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var failed []string
	for _, n := range nodes {
		if n.lock == nil {
			continue
		}
		if err := n.w.ReleaseLock(ctx, n.lock.ID); err != nil && !errors.Is(err, provider.ErrNotLocked) {
			// The lock id is a capability: it stays out of every message.
			msg := strings.ReplaceAll(err.Error(), n.lock.ID, "<lock id>")
			failed = append(failed, fmt.Sprintf("%s (%s)", n.addr, msg))
			continue
		}
		n.lock = nil
	}
	if len(failed) > 0 {
		fmt.Fprintf(o.Out, "warning: could not release the update lock of %s; it expires by itself within %s\n", strings.Join(failed, ", "), o.Lease)
	}
}

// parallel runs fn(0..n-1) with at most limit at a time.
func parallel(limit, n int, fn func(i int)) {
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			fn(i)
		}()
	}
	wg.Wait()
}

func allTargets(works []*work) []*target {
	var ts []*target
	for _, w := range works {
		ts = append(ts, w.targets...)
	}
	return ts
}

// readUnderLock reads every target again now that nobody else can write, and refuses when
// anything differs from the plan: the plan must be applied to what it was made against.
func (o *Options) readUnderLock(ctx context.Context, works []*work) error {
	ts := allTargets(works)
	errs := make([]string, len(ts))
	parallel(o.Live.Parallelism, len(ts), func(i int) {
		t := ts[i]
		data, _, err := t.w.CTL(ctx)
		switch {
		case errors.Is(err, provider.ErrNoCTL):
		case err != nil:
			errs[i] = err.Error()
			return
		default:
			t.cur, t.digest = data, provider.ETag(data)
		}
		if t.digest != t.ts.Digest {
			errs[i] = fmt.Sprintf("cluster %s: server %s now holds %s, the plan saw %s", t.c.Name, t.ts.Server, shortDigest(t.digest), shortDigest(t.ts.Digest))
			return
		}
		if t.cur != nil {
			f, err := ctl.Parse(t.cur)
			if err != nil {
				errs[i] = fmt.Sprintf("cluster %s: server %s: %v", t.c.Name, t.ts.Server, err)
				return
			}
			t.file = f
		}
	})
	var why []string
	for _, e := range errs {
		if e != "" {
			why = append(why, e)
		}
	}
	if len(why) > 0 {
		return fmt.Errorf("the servers changed since the plan was made; nothing was written:\n  %s", strings.Join(why, "\n  "))
	}
	return nil
}

func shortDigest(d string) string {
	switch {
	case d == "":
		return "no file"
	case d == unknown:
		return "an unknown file (not readable)"
	case len(d) > 12:
		return "sha256 " + d[:12] + "…"
	}
	return d
}

// prepare decides each cluster's file, signs what must be signed and checks every file as
// phones would, before anything is written anywhere.
func (o *Options) prepare(ctx context.Context, works []*work, res *Result) error {
	var toSign []*work
	for _, w := range works {
		// Records unchanged: bring the laggards in line with the file the others hold, as it
		// is; nothing to sign and the servers already right are not touched.
		if len(w.c.Actions) == 0 && w.c.Live != nil && w.c.Live.Digest != "" {
			for _, t := range w.targets {
				if t.digest == w.c.Live.Digest {
					w.data = t.cur
					break
				}
			}
		}
		if w.data == nil && w.c.Desired != nil && len(w.c.Desired.Data) > 0 {
			w.sign = true
			toSign = append(toSign, w)
		}
	}
	if len(toSign) > 0 {
		if err := o.signAll(ctx, toSign, res); err != nil {
			return err
		}
	}
	for _, w := range works {
		if w.data == nil {
			continue
		}
		next, err := ctl.Parse(w.data)
		if err != nil {
			return fmt.Errorf("cluster %s: the file to push does not parse: %v", w.c.Name, err)
		}
		for _, t := range w.targets {
			if t.file == nil || t.digest == provider.ETag(w.data) {
				continue
			}
			if err := ctl.Accepts(t.file, next); err != nil {
				return fmt.Errorf("cluster %s: server %s: %v; nothing was written", w.c.Name, t.ts.Server, err)
			}
		}
		w.res.Digest = provider.ETag(w.data)
		w.res.Signed = w.sign
	}
	return nil
}

// signerRequest is what the signer must sign for: works' clusters, their (common) signWith and
// the declared tokens phones already trust (R19).
func signerRequest(works []*work) (SignerRequest, error) {
	req := SignerRequest{SignWith: works[0].spec.SignWith}
	seen := map[string]bool{}
	for _, w := range works {
		req.Clusters = append(req.Clusters, w.c.Name)
		if signWithKey(w.spec.SignWith) != signWithKey(req.SignWith) {
			return req, fmt.Errorf("clusters %s and %s declare different signWith: apply them one at a time with --cluster", works[0].c.Name, w.c.Name)
		}
		for _, s := range w.c.Signers {
			if !seen[s.CertificateSHA256] {
				seen[s.CertificateSHA256] = true
				req.Trusted = append(req.Trusted, s)
			}
		}
	}
	return req, nil
}

// checkSigner runs CheckSigner before the locks for the clusters whose records change, the
// ones that will need a signature (laggards alone get the file the others hold).
func (o *Options) checkSigner(works []*work) error {
	if o.CheckSigner == nil {
		return nil
	}
	var signing []*work
	for _, w := range works {
		if len(w.c.Actions) > 0 || w.c.Live == nil || w.c.Live.Digest == "" {
			signing = append(signing, w)
		}
	}
	if len(signing) == 0 {
		return nil
	}
	req, err := signerRequest(signing)
	if err != nil {
		return err
	}
	return o.CheckSigner(req)
}

// signAll opens the signer once (R20: one token at a time) and signs each cluster's file.
func (o *Options) signAll(ctx context.Context, works []*work, res *Result) error {
	if o.OpenSigner == nil {
		return errors.New("a file must be signed but no signer is configured")
	}
	req, err := signerRequest(works)
	if err != nil {
		return err
	}
	s, err := o.OpenSigner(ctx, req)
	if err != nil {
		return err
	}
	defer s.Close()
	cert := s.Certificate()
	fp := ctl.Fingerprint(cert.Raw)
	res.Signer = &SignerInfo{Description: s.Describe(), Subject: ctl.NameString(cert.Subject),
		Serial: ctl.SerialHex(cert.SerialNumber.Bytes()), CertificateSHA256: fp}
	// Expiry is only a warning in the spec and the plan, so that read-only commands work on
	// clusters whose certificates expired long ago; signing is where it is refused. Whether
	// phones check a CTL signer's validity dates is unconfirmed [?]: the safer side is never to
	// hand them a new file signed by an expired certificate.
	if now := o.Now(); now.After(cert.NotAfter) {
		return fmt.Errorf("the token's certificate %s (sha256 %s) expired on %s: ctlops does not sign with an expired certificate; nothing was written. Sign with another declared token, or enrol a new one first",
			ctl.NameString(cert.Subject), fp, cert.NotAfter.UTC().Format("2006-01-02"))
	}
	fmt.Fprintf(o.Out, "Signing with %s\n", s.Describe())
	for _, w := range works {
		if !trusted(w.c.Signers, fp) {
			return fmt.Errorf("cluster %s: the token's certificate %s (sha256 %s) is not a SAST record of the installed CTL (R19), so phones would reject a file it signs; nothing was written. Tokens that would do: %s",
				w.c.Name, ctl.NameString(cert.Subject), fp, signerList(w.c.Signers))
		}
		h, err := o.hash(w)
		if err != nil {
			return err
		}
		f, err := ctl.Parse(w.c.Desired.Data)
		if err != nil {
			return fmt.Errorf("cluster %s: the plan's desired file does not parse: %v", w.c.Name, err)
		}
		// Sign verifies the new signature in software against the certificate.
		if err := f.Sign(s, cert, h, o.Now()); err != nil {
			return fmt.Errorf("cluster %s: %w", w.c.Name, err)
		}
		data, err := f.Marshal()
		if err != nil {
			return fmt.Errorf("cluster %s: %w", w.c.Name, err)
		}
		// What leaves the machine is checked as a phone reads it: parsed from the bytes.
		back, err := ctl.Parse(data)
		if err == nil {
			err = back.Verify()
		}
		if err == nil {
			if i := back.SignerRecord(); i < 0 || !bytes.Equal(back.Records[i].Certificate, cert.Raw) {
				err = errors.New("the signer record is not the token's certificate")
			}
		}
		if err != nil {
			return fmt.Errorf("cluster %s: the signed file fails its own check: %v; nothing was written", w.c.Name, err)
		}
		w.data = data
	}
	return nil
}

func signWithKey(s *spec.SignWith) string {
	switch {
	case s == nil:
		return ""
	case s.Software != nil:
		return "software " + s.Software.KeyFile
	case s.PKCS11 != nil:
		return fmt.Sprintf("pkcs11 %s %s %s", s.PKCS11.Module, s.PKCS11.TokenLabel, s.PKCS11.TokenSerial)
	}
	return ""
}

func trusted(signers []plan.SignerOption, fp string) bool {
	for _, s := range signers {
		if strings.EqualFold(s.CertificateSHA256, fp) {
			return true
		}
	}
	return false
}

func signerList(signers []plan.SignerOption) string {
	if len(signers) == 0 {
		return "none of the declared tokens"
	}
	var out []string
	for _, s := range signers {
		out = append(out, fmt.Sprintf("%s (%s, serial %s, sha256 %s)", s.Token, s.Subject, s.Serial, s.CertificateSHA256))
	}
	return strings.Join(out, "; ")
}

// hash is the spec's signWith.hash, else the installed file's, else SHA-1: every phone knows
// SHA-1, not every phone SHA-256.
func (o *Options) hash(w *work) (ctl.HashAlgorithm, error) {
	if w.spec.SignWith != nil && w.spec.SignWith.Hash != "" {
		h, err := ctl.ParseHashAlgorithm(w.spec.SignWith.Hash)
		if err != nil {
			return 0, fmt.Errorf("cluster %s: signWith.hash: %w", w.c.Name, err)
		}
		return h, nil
	}
	if w.c.Live != nil && w.c.Live.Digest != "" {
		for _, t := range w.targets {
			if t.digest == w.c.Live.Digest && t.file != nil {
				return t.file.Header.HashAlgorithm, nil
			}
		}
	}
	return ctl.SHA1, nil
}

// push writes each cluster's file to every target that does not hold it yet, concurrently
// within the bound, and reads each back.
func (o *Options) push(ctx context.Context, works []*work) {
	var jobs []*target
	var data [][]byte
	for _, w := range works {
		if w.data == nil {
			for _, t := range w.targets {
				t.res.Status = "unchanged"
			}
			continue
		}
		want := provider.ETag(w.data)
		fmt.Fprintf(o.Out, "Pushing %s's CTL (sha256 %s, %d bytes) to %d server(s)...\n", w.c.Name, want, len(w.data), len(w.targets))
		for _, t := range w.targets {
			if t.digest == want {
				t.res.Status = "unchanged"
				continue
			}
			jobs = append(jobs, t)
			data = append(data, w.data)
		}
	}
	parallel(o.Live.Parallelism, len(jobs), func(i int) {
		t, d := jobs[i], data[i]
		o.event(Event{Kind: "push", Cluster: t.c.Name, Server: t.ts.Server, Address: t.ts.Address})
		err := ctx.Err()
		if err == nil {
			_, err = t.w.WriteCTL(ctx, d, provider.WriteOptions{LockID: t.node.lock.ID, IfMatch: t.digest})
		}
		if err == nil {
			var back []byte
			back, _, err = t.w.CTL(ctx)
			if err == nil && !bytes.Equal(back, d) {
				err = fmt.Errorf("read back sha256 %s, pushed %s", provider.ETag(back), provider.ETag(d))
			}
		}
		if err == nil {
			t.res.Status, t.res.Holds = "updated", provider.ETag(d)
			o.event(Event{Kind: "pushed", Cluster: t.c.Name, Server: t.ts.Server, Address: t.ts.Address})
			return
		}
		t.res.Status, t.res.Error = "failed", err.Error()
		t.res.Holds = readBack(t)
	})
}

// readBack says what a target holds after a failed push, with a context of its own (the
// apply's may be cancelled): the old digest, the new one, "" for none or unknown.
func readBack(t *target) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	data, _, err := t.w.CTL(ctx)
	switch {
	case errors.Is(err, provider.ErrNoCTL):
		return ""
	case err != nil:
		return unknown
	}
	return provider.ETag(data)
}

// finish sets the security mode and restarts services where the whole cluster holds its file.
func (o *Options) finish(ctx context.Context, works []*work) {
	for _, w := range works {
		ok := true
		for _, t := range w.targets {
			if t.res.Status == "failed" {
				ok = false
			}
		}
		if !ok {
			if w.c.Mode.Changed {
				w.res.Problems = append(w.res.Problems, fmt.Sprintf("security mode left at %s: the file is not on every server yet", w.c.Mode.From))
			}
			continue
		}
		if w.c.Mode.Changed {
			w.res.Mode = string(w.c.Mode.To)
			for _, t := range w.targets {
				if t.ts.Alternate {
					continue // an alternate TFTP server's mode is its own cluster's (R17)
				}
				o.event(Event{Kind: "mode", Cluster: w.c.Name, Server: t.ts.Server, Address: t.ts.Address, Detail: string(w.c.Mode.To)})
				if err := t.node.w.SetMode(ctx, t.node.lock.ID, w.c.Mode.To); err != nil {
					w.res.Problems = append(w.res.Problems, fmt.Sprintf("server %s: setting the security mode: %v", t.ts.Server, err))
					continue
				}
				w.res.ModeSetOn = append(w.res.ModeSetOn, t.ts.Server)
			}
		}
		if o.RestartServices || o.Rollout.ResetDevices {
			o.rolloutOrRestart(ctx, w)
		}
	}
}

// restart restarts CallManager and TFTP on every server of the cluster that runs them (R23).
func (o *Options) restart(ctx context.Context, w *work) {
	var first *target
	for _, t := range w.targets {
		if !t.ts.Alternate {
			first = t
			break
		}
	}
	if first == nil {
		return
	}
	inv, err := first.node.w.Cluster(ctx)
	if err != nil {
		w.res.Problems = append(w.res.Problems, fmt.Sprintf("reading the inventory to restart services: %v", err))
		return
	}
	nodes := map[string]*node{}
	for _, t := range w.targets {
		nodes[t.ts.Address] = t.node
	}
	for _, s := range inv.Servers {
		var svc []provider.Service
		if s.HasRole(provider.RoleCCM) {
			svc = append(svc, provider.ServiceCallManager)
		}
		if s.HasRole(provider.RoleTFTP) {
			svc = append(svc, provider.ServiceTFTP)
		}
		if len(svc) == 0 {
			continue
		}
		n := nodes[s.Provider]
		if n == nil {
			w.res.Problems = append(w.res.Problems, fmt.Sprintf("server %s (%s) is not locked by this apply: restart its services by hand", s.Name, s.Provider))
			continue
		}
		o.event(Event{Kind: "restart", Cluster: w.c.Name, Server: s.Name, Address: s.Provider})
		if err := n.w.Restart(ctx, n.lock.ID, svc); err != nil {
			w.res.Problems = append(w.res.Problems, fmt.Sprintf("server %s: restarting %v: %v", s.Name, svc, err))
			continue
		}
		var names []string
		for _, x := range svc {
			names = append(names, string(x))
		}
		w.res.Restarted = append(w.res.Restarted, fmt.Sprintf("%s (%s)", s.Name, strings.Join(names, ", ")))
	}
}

// report prints each cluster's outcome and the next steps, and returns a *PushError when a
// server was not brought in line.
func (o *Options) report(ctx context.Context, works []*work) error {
	var failed, problems []string
	for _, w := range works {
		fmt.Fprintf(o.Out, "\nCluster %s:\n", w.c.Name)
		width := 0
		for _, t := range w.targets {
			width = max(width, len(t.ts.Server))
		}
		for _, t := range w.targets {
			alt := ""
			if t.ts.Alternate {
				alt = " (alternate TFTP)"
			}
			switch t.res.Status {
			case "updated":
				fmt.Fprintf(o.Out, "  %-*s  %s%s: updated, now holds %s (was %s), read back and verified\n", width, t.ts.Server, t.ts.Address, alt, shortDigest(t.res.Holds), shortDigest(t.res.Before))
			case "unchanged":
				fmt.Fprintf(o.Out, "  %-*s  %s%s: already holds %s\n", width, t.ts.Server, t.ts.Address, alt, shortDigest(t.res.Holds))
			default:
				now := "its old file"
				switch t.res.Holds {
				case w.res.Digest:
					now = "the new file"
				case unknown:
					now = "a file that could not be read back"
				case "":
					now = "no file"
				}
				fmt.Fprintf(o.Out, "  %-*s  %s%s: FAILED: %s; it now holds %s (%s)\n", width, t.ts.Server, t.ts.Address, alt, t.res.Error, now, shortDigest(t.res.Holds))
				failed = append(failed, fmt.Sprintf("%s/%s holds %s", w.c.Name, t.ts.Server, shortDigest(t.res.Holds)))
			}
		}
		if len(w.res.ModeSetOn) > 0 {
			fmt.Fprintf(o.Out, "  Security mode set to %s on %s (R10, R11).\n", w.res.Mode, strings.Join(w.res.ModeSetOn, ", "))
		}
		for _, r := range w.res.Restarted {
			fmt.Fprintf(o.Out, "  Restarted %s (R23).\n", r)
		}
		for _, pr := range w.res.Problems {
			fmt.Fprintf(o.Out, "  Problem: %s\n", pr)
		}
		for _, pr := range w.res.Problems {
			problems = append(problems, w.c.Name+": "+pr)
		}
		var next []plan.Step
		for _, step := range w.c.AfterApply {
			if o.RestartServices && step.Kind == plan.StepRestart && len(w.res.Restarted) > 0 ||
				rolledOut(w.res, step.Kind) {
				continue
			}
			next = append(next, step)
		}
		if len(next) > 0 {
			fmt.Fprintln(o.Out, "  Next:")
			for i, step := range next {
				fmt.Fprintf(o.Out, "    %d. %s\n", i+1, step)
			}
		}
	}
	if len(failed) > 0 || len(problems) > 0 {
		return &PushError{Failed: failed, Problems: problems, Interrupted: ctx.Err() != nil}
	}
	fmt.Fprintln(o.Out, "\nApply complete.")
	return nil
}
