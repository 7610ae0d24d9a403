package platform

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ctlops/ctlops/internal/termsafe"
)

// Config is how to reach one node's platform CLI.
type Config struct {
	Addr string // host:port, port 22 on CUCM
	User string // platform (OS) administrator, not the CM Administration user (§2.1)
	// Password returns the secret when the server asks for it, and only then: it comes from
	// {env:} or {file:} and never appears in errors or logs.
	Password func() (string, error)
	// Auth is "password", "keyboard-interactive" or "" (either, whichever the server offers
	// first). Which releases refuse plain password is [unconfirmed]; both are supported. Either
	// way the password is sent once: see LoginError.
	Auth string
	// HostKeys pins SHA-256 fingerprints ("SHA256:…"); KnownHosts names a known_hosts file.
	// One of them is required.
	HostKeys   []string
	KnownHosts string
	// Legacy enables the old algorithms some releases need (see legacyConfig), for this host
	// only.
	Legacy bool

	DialTimeout    time.Duration // TCP + SSH handshake; default 15 s
	StartupTimeout time.Duration // login to first prompt; CUCM takes ~10 s (§2.1); default 60 s
	CommandTimeout time.Duration // default for Run; default 120 s
	Nudge          time.Duration // send a newline when no prompt came for this long; default 5 s
	MaxOutput      int           // bytes kept per command; default 4 MiB
}

func (c *Config) defaults() {
	if c.DialTimeout == 0 {
		c.DialTimeout = 15 * time.Second
	}
	if c.StartupTimeout == 0 {
		c.StartupTimeout = 60 * time.Second
	}
	if c.CommandTimeout == 0 {
		c.CommandTimeout = 120 * time.Second
	}
	if c.Nudge == 0 {
		c.Nudge = 5 * time.Second
	}
	if c.MaxOutput == 0 {
		c.MaxOutput = 4 << 20
	}
}

// LoginError is a refused login. ctlops never retries one: CUCM locks the account after 3
// failures by default (`show accountlocking`: Retry Count : 3 attempts, §2.1), and one
// ctlops run must not be able to lock out the administrator.
type LoginError struct {
	Addr, User string
	Err        error
}

func (e *LoginError) Error() string {
	return fmt.Sprintf("%s: login as %s refused (%s); not retried, because CUCM locks the account after 3 failed logins: check the password and try once more by hand",
		termsafe.Line(e.Addr), termsafe.Line(e.User), termsafe.Error(e.Err))
}

func (e *LoginError) Unwrap() error { return e.Err }

var errOneAttempt = errors.New("the server asked for the password a second time")

// Session is a logged-in CLI on one node: one PTY shell, one command at a time.
type Session struct {
	Addr   string
	Banner string // what the node printed before its first prompt
	// HostKey is the SHA-256 fingerprint ("SHA256:…") of the host key the node offered and
	// the pins (HostKeys, KnownHosts) accepted, before the password was sent.
	HostKey string

	cfg    Config
	client *ssh.Client
	sess   *ssh.Session
	stdin  io.WriteCloser

	runMu   sync.Mutex // one command at a time
	mu      sync.Mutex // guards buf, rerr
	buf     []byte
	over    bool
	rerr    error
	changed chan struct{}
}

var (
	promptRE  = regexp.MustCompile(`(?:^|\n)admin:\s*$`)
	confirmRE = regexp.MustCompile(`(?:\(y/n\)\s*[:?]?|\(yes/no\)\s*[:?]?|Enter "y" followed by return to continue:)\s*$`)
	pagerTail = regexp.MustCompile(`(?i)options: q=quit, n=next, p=prev, b=begin, e=end \(lines \d+ - \d+ of \d+\) :?\s*$`)
)

// Dial logs in once, waits for the first prompt and turns pagination off. A wrong host key
// fails before authentication (HostKeyError); a refused login is a LoginError.
func Dial(ctx context.Context, cfg Config) (*Session, error) {
	cfg.defaults()
	if cfg.Password == nil {
		return nil, fmt.Errorf("%s: no password source", termsafe.Line(cfg.Addr))
	}
	hk, err := hostKeyCallback(cfg.HostKeys, cfg.KnownHosts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", termsafe.Line(cfg.Addr), err)
	}
	var tried atomic.Bool
	once := func() (string, error) {
		if tried.Swap(true) {
			return "", errOneAttempt
		}
		return cfg.Password()
	}
	pw := ssh.PasswordCallback(once)
	kbd := ssh.KeyboardInteractive(func(_, _ string, qs []string, echos []bool) ([]string, error) {
		if len(qs) == 0 {
			return nil, nil // an information message
		}
		if len(qs) != 1 || echos[0] {
			return nil, fmt.Errorf("unexpected keyboard-interactive challenge %q", termsafe.Line(strings.Join(qs, " | ")))
		}
		p, err := once()
		if err != nil {
			return nil, err
		}
		return []string{p}, nil
	})
	var methods []ssh.AuthMethod
	switch cfg.Auth {
	case "password":
		methods = []ssh.AuthMethod{pw}
	case "keyboard-interactive":
		methods = []ssh.AuthMethod{kbd}
	case "":
		methods = []ssh.AuthMethod{kbd, pw}
	default:
		return nil, fmt.Errorf("%s: auth %q: want password or keyboard-interactive", termsafe.Line(cfg.Addr), termsafe.Line(cfg.Auth))
	}
	var verified string
	check := func(host string, remote net.Addr, key ssh.PublicKey) error {
		if err := hk(host, remote, key); err != nil {
			return err
		}
		verified = ssh.FingerprintSHA256(key)
		return nil
	}
	cc := &ssh.ClientConfig{User: cfg.User, Auth: methods, HostKeyCallback: check, Timeout: cfg.DialTimeout}
	if cfg.Legacy {
		legacyConfig(&cc.Config)
		cc.HostKeyAlgorithms = legacyHostKeyAlgos()
	}
	d := net.Dialer{Timeout: cfg.DialTimeout}
	conn, err := d.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", termsafe.Line(cfg.Addr), err)
	}
	_ = conn.SetDeadline(time.Now().Add(cfg.DialTimeout))
	c, chans, reqs, err := ssh.NewClientConn(conn, cfg.Addr, cc)
	if err != nil {
		conn.Close()
		var hke *HostKeyError
		if errors.As(err, &hke) {
			return nil, hke
		}
		if errors.Is(err, errOneAttempt) || strings.Contains(err.Error(), "unable to authenticate") {
			return nil, &LoginError{Addr: cfg.Addr, User: cfg.User, Err: errors.New("wrong user name or password, or the account is locked")}
		}
		return nil, fmt.Errorf("%s: ssh: %s", termsafe.Line(cfg.Addr), termsafe.Error(err))
	}
	_ = conn.SetDeadline(time.Time{})
	s := &Session{Addr: cfg.Addr, HostKey: verified, cfg: cfg, client: ssh.NewClient(c, chans, reqs), changed: make(chan struct{}, 1)}
	if err := s.start(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// start opens the PTY shell (CUCM has no exec channel, §2.1), waits for the first prompt
// and turns automatic pagination off.
func (s *Session) start(ctx context.Context) error {
	sess, err := s.client.NewSession()
	if err != nil {
		return fmt.Errorf("%s: session: %s", termsafe.Line(s.Addr), termsafe.Error(err))
	}
	s.sess = sess
	modes := ssh.TerminalModes{ssh.ECHO: 1, ssh.TTY_OP_ISPEED: 38400, ssh.TTY_OP_OSPEED: 38400}
	if err := sess.RequestPty("vt100", 50, 200, modes); err != nil {
		return fmt.Errorf("%s: pty: %s", termsafe.Line(s.Addr), termsafe.Error(err))
	}
	if s.stdin, err = sess.StdinPipe(); err != nil {
		return err
	}
	out, err := sess.StdoutPipe()
	if err != nil {
		return err
	}
	if err := sess.Shell(); err != nil {
		return fmt.Errorf("%s: shell: %s", termsafe.Line(s.Addr), termsafe.Error(err))
	}
	go s.read(out)
	deadline := time.Now().Add(s.cfg.StartupTimeout)
	banner, err := s.wait(ctx, deadline, "", func(text string) (int, bool) {
		if loc := promptRE.FindStringIndex(text); loc != nil {
			return loc[0], true
		}
		return 0, false
	})
	if err != nil {
		return fmt.Errorf("%s: waiting for the first admin: prompt: %w", termsafe.Line(s.Addr), err)
	}
	s.Banner = strings.TrimSpace(banner)
	out2, err := s.Run(ctx, "set cli pagination off")
	if err != nil {
		return err
	}
	return ParsePaginationOff(out2)
}

func (s *Session) read(r io.Reader) {
	b := make([]byte, 32<<10)
	for {
		n, err := r.Read(b)
		s.mu.Lock()
		if n > 0 {
			if len(s.buf)+n > s.cfg.MaxOutput {
				s.over = true
			} else {
				s.buf = append(s.buf, b[:n]...)
			}
		}
		if err != nil {
			s.rerr = err
		}
		s.mu.Unlock()
		select {
		case s.changed <- struct{}{}:
		default:
		}
		if err != nil {
			return
		}
	}
}

// wait polls the cleaned output after the last reset until done reports an end index, the
// deadline passes or the connection ends. With a nudge set it sends a newline when nothing
// matched for cfg.Nudge (a slow CLI may need one, §2.1).
func (s *Session) wait(ctx context.Context, deadline time.Time, cmd string, done func(text string) (int, bool)) (string, error) {
	limit := time.Until(deadline).Round(time.Millisecond)
	timer := time.NewTimer(limit)
	defer timer.Stop()
	nudge := time.NewTicker(s.cfg.Nudge)
	defer nudge.Stop()
	for {
		if out, ok, err := s.poll(done); ok || err != nil {
			return out, err
		}
		select {
		case <-s.changed:
		case <-nudge.C:
			if cmd == "" {
				_, _ = io.WriteString(s.stdin, "\n")
			}
		case <-timer.C:
			s.mu.Lock()
			text := Clean(string(s.buf))
			s.mu.Unlock()
			return "", fmt.Errorf("no prompt within %s; last output: %s", limit, tail(text))
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// poll looks at the output so far: done's answer when it found what it waits for, an error
// when the output is too long or the connection ended, else nothing yet.
func (s *Session) poll(done func(text string) (int, bool)) (string, bool, error) {
	s.mu.Lock()
	over, rerr := s.over, s.rerr
	if !over && rerr == nil && !mayEnd(s.buf) {
		s.mu.Unlock()
		return "", false, nil
	}
	text := Clean(string(s.buf))
	s.mu.Unlock()
	if over {
		return "", false, fmt.Errorf("answer longer than %d bytes", s.cfg.MaxOutput)
	}
	if end, ok := done(text); ok {
		return text[:end], true, nil
	}
	if rerr != nil {
		return "", false, fmt.Errorf("connection ended (%s); last output: %s", termsafe.Error(rerr), tail(text))
	}
	return "", false, nil
}

// mayEnd reports whether the raw output could end with something wait looks for: every
// condition (the admin: prompt, a (y/n) confirmation, the pager line) is anchored at the end
// of the cleaned text and ends in ':', '?' or ')'. Cleaning the whole answer again at every
// packet made long answers (`show cert own` prints a PEM) quadratic, so only the tail is
// cleaned here; the window reaches back before the last escape sequence, so that one ending
// the output is seen whole, with what precedes it, as Clean sees it.
func mayEnd(raw []byte) bool {
	const window = 256
	from := max(0, len(raw)-window)
	if e := bytes.LastIndexByte(raw, 0x1b); e >= 0 && e < from {
		from = max(0, e-window)
	}
	t := strings.TrimRight(Clean(string(raw[from:])), " \t\n")
	if t == "" {
		return false
	}
	switch t[len(t)-1] {
	case ':', '?', ')':
		return true
	}
	return false
}

func tail(text string) string {
	if len(text) > 200 {
		text = text[len(text)-200:]
	}
	return termsafe.Line(strings.TrimSpace(text))
}

// Options tune one command.
type Options struct {
	Timeout time.Duration
	// Confirm is asked about a (y/n) prompt, given the prompt text; nil answers every prompt
	// "n" and fails. It must return nil only for the exact prompt the caller expects.
	Confirm func(prompt string) error
}

// Run types one command and returns its answer (cleaned, without the echo and the final
// prompt). A confirmation prompt is answered "n" and is an error quoting it.
func (s *Session) Run(ctx context.Context, cmd string) (string, error) {
	return s.RunWith(ctx, cmd, Options{})
}

// RunWith is Run with per-command options.
func (s *Session) RunWith(ctx context.Context, cmd string, o Options) (string, error) {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	if o.Timeout == 0 {
		o.Timeout = s.cfg.CommandTimeout
	}
	s.mu.Lock()
	s.buf, s.over = s.buf[:0], false
	s.mu.Unlock()
	if _, err := io.WriteString(s.stdin, cmd+"\n"); err != nil {
		return "", fmt.Errorf("%s: `%s`: %s", termsafe.Line(s.Addr), cmd, termsafe.Error(err))
	}
	deadline := time.Now().Add(o.Timeout)
	answered := -1 // offset after which the answer to a prompt is
	var refused error
	var answer string
	_, err := s.wait(ctx, deadline, cmd, func(text string) (int, bool) {
		e := strings.Index(text, cmd)
		if e < 0 {
			return 0, false
		}
		body := text[e+len(cmd):]
		if loc := promptRE.FindStringIndex(body); loc != nil && (answered < 0 || loc[0] >= answered) {
			answer = strings.TrimPrefix(body[:loc[0]], "\n")
			return 0, true
		}
		if answered >= 0 || refused != nil {
			return 0, false
		}
		if pagerTail.MatchString(body) {
			refused = unknown(cmd, "a pagination prompt appeared although pagination is off; answered q", pagerTail.FindString(body))
			_, _ = io.WriteString(s.stdin, "q")
			answered = len(body)
			return 0, false
		}
		if confirmRE.MatchString(body) {
			prompt := strings.TrimSpace(body)
			if o.Confirm == nil {
				refused = unknown(cmd, "unexpected confirmation prompt, answered n", prompt)
			} else if err := o.Confirm(prompt); err != nil {
				refused = fmt.Errorf("%w; answered n", err)
			}
			if refused != nil {
				_, _ = io.WriteString(s.stdin, "n\n")
			} else {
				_, _ = io.WriteString(s.stdin, "y\n")
			}
			answered = len(body)
		}
		return 0, false
	})
	if refused != nil {
		return "", fmt.Errorf("%s: %w", termsafe.Line(s.Addr), refused)
	}
	if err != nil {
		return "", fmt.Errorf("%s: `%s`: %w", termsafe.Line(s.Addr), cmd, err)
	}
	return answer, nil
}

// Close ends the CLI session with exit and closes the connection.
func (s *Session) Close() error {
	if s.stdin != nil {
		_, _ = io.WriteString(s.stdin, "exit\n")
	}
	if s.sess != nil {
		s.sess.Close()
	}
	return s.client.Close()
}
