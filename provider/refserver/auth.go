package refserver

import (
	"crypto/sha256"
	"crypto/subtle"
	"sync"
	"time"
)

// limiter counts failed logins per client address; past the limit the address gets 429
// until its window ends, whatever it sends.
type limiter struct {
	mu sync.Mutex
	m  map[string]*failures
}

type failures struct {
	count int
	start time.Time
}

func (l *limiter) blocked(addr string, lim Limits) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.m[addr]
	if f == nil || time.Since(f.start) > lim.LoginWindow {
		return 0, false
	}
	if f.count >= lim.LoginFailures {
		return lim.LoginWindow - time.Since(f.start), true
	}
	return 0, false
}

func (l *limiter) fail(addr string, lim Limits) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]*failures{}
	}
	if len(l.m) > 10000 {
		for k, f := range l.m {
			if time.Since(f.start) > lim.LoginWindow {
				delete(l.m, k)
			}
		}
	}
	f := l.m[addr]
	if f == nil || time.Since(f.start) > lim.LoginWindow {
		f = &failures{start: time.Now()}
		l.m[addr] = f
	}
	f.count++
}

// checkCredentials compares the user in constant time and the password through the slow
// hash; a credential that passed once is remembered by its digest so that every request does
// not pay PBKDF2.
func (n *Node) checkCredentials(cfg *Config, user, pass string) bool {
	userOK := subtle.ConstantTimeCompare([]byte(user), []byte(cfg.Admin.User)) == 1
	key := sha256.Sum256([]byte(user + "\x00" + pass))
	n.mu.Lock()
	known := n.verified[key]
	n.mu.Unlock()
	if known {
		return userOK
	}
	passOK := CheckPassword(cfg.Admin.PasswordHash, pass)
	if userOK && passOK {
		n.mu.Lock()
		n.verified[key] = true
		n.mu.Unlock()
		return true
	}
	return false
}
