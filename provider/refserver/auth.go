package refserver

import (
	"crypto/sha256"
	"crypto/subtle"
	"sync"
	"time"
)

// limiter bounds password guessing, per client address and per user name, without letting
// a guesser lock out anyone who holds the password:
//
//   - a credential that already proved itself (Node.verified) is never limited: checking it
//     costs a map lookup, and an attacker who has it has nothing left to guess;
//   - a source address gets LoginFailures evaluations of unknown credentials per LoginWindow,
//     then 429 for unknown credentials until the window ends;
//   - a user name that has seen UserFailures failures in the window, from any sources, is
//     tried further only from sources with no failure of their own in the window: a botnet
//     gets at most one guess per address, the admin at a clean workstation is never refused.
//
// An evaluation is reserved before the slow hash runs and settled after, under one mutex, so
// a burst of 200 concurrent guesses gets exactly the allowed number evaluated.
type limiter struct {
	mu      sync.Mutex
	sources map[string]*window
	users   map[string]*window
}

// window is one key's failures (and evaluations in flight) since start.
type window struct {
	start    time.Time
	failures int
	inflight int
}

// maxKeys bounds each map; past it, expired windows are pruned first.
const maxKeys = 10000

func (w *window) used() int { return w.failures + w.inflight }

// overflow is the one window shared by new keys once a map is full of live windows: an
// attacker with a million addresses then shares one budget instead of growing the map.
const overflow = "\x00overflow"

// slot returns the live window of key, starting a new one when none is live. The key used
// (key, or overflow) is returned for settle.
func slot(m map[string]*window, key string, now time.Time, lim Limits) (*window, string) {
	w := m[key]
	if w == nil || (now.Sub(w.start) > lim.LoginWindow && w.inflight == 0) {
		if w == nil && len(m) >= maxKeys {
			for k, x := range m {
				if now.Sub(x.start) > lim.LoginWindow && x.inflight == 0 {
					delete(m, k)
				}
			}
			if len(m) >= maxKeys {
				if o := m[overflow]; o != nil {
					return o, overflow
				}
				key = overflow
			}
		}
		w = &window{start: now}
		m[key] = w
	}
	return w, key
}

// ticket is an admitted evaluation: the windows it reserved, to settle.
type ticket struct{ source, user *window }

// admit reserves one evaluation of an unknown credential from addr for user, or says how long
// to wait. Every admitted ticket must be settled once.
func (l *limiter) admit(addr, user string, now time.Time, lim Limits) (ticket, bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sources == nil {
		l.sources, l.users = map[string]*window{}, map[string]*window{}
	}
	s, _ := slot(l.sources, addr, now, lim)
	u, _ := slot(l.users, user, now, lim)
	if s.used() >= lim.LoginFailures {
		return ticket{}, false, lim.LoginWindow - now.Sub(s.start)
	}
	if u.used() >= lim.UserFailures && s.used() > 0 {
		return ticket{}, false, lim.LoginWindow - now.Sub(u.start)
	}
	s.inflight++
	u.inflight++
	return ticket{s, u}, true, 0
}

// settle ends an evaluation; a failure counts against its source and its user.
func (l *limiter) settle(t ticket, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, w := range []*window{t.source, t.user} {
		w.inflight--
		if !ok {
			w.failures++
		}
	}
}

// userKey is what the per-user limit counts a login under: the admin's name, or one bucket for
// every other name (they can never succeed, and a map keyed by names an attacker chooses
// would grow without bound).
func userKey(cfg *Config, user string) string {
	if subtle.ConstantTimeCompare([]byte(user), []byte(cfg.Admin.User)) == 1 {
		return "admin"
	}
	return "other"
}

// knownGood reports whether user and pass are a credential that already passed the slow hash
// since the password last changed.
func (n *Node) knownGood(cfg *Config, user, pass string) bool {
	key := sha256.Sum256([]byte(user + "\x00" + pass))
	n.mu.Lock()
	known := n.verified[key]
	n.mu.Unlock()
	return known && subtle.ConstantTimeCompare([]byte(user), []byte(cfg.Admin.User)) == 1
}

// checkCredentials compares the user in constant time and the password through the slow
// hash; a credential that passes is remembered by its digest so that every request does not
// pay PBKDF2 (and so that the rate limits never stand in its way, see limiter).
func (n *Node) checkCredentials(cfg *Config, user, pass string) bool {
	if n.knownGood(cfg, user, pass) {
		return true
	}
	userOK := subtle.ConstantTimeCompare([]byte(user), []byte(cfg.Admin.User)) == 1
	passOK := CheckPassword(cfg.Admin.PasswordHash, pass)
	if userOK && passOK {
		key := sha256.Sum256([]byte(user + "\x00" + pass))
		n.mu.Lock()
		n.verified[key] = true
		n.mu.Unlock()
		return true
	}
	return false
}
