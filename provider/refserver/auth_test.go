package refserver

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// The limiter per source and per user, with addresses that are only map keys here.
func TestLimiter(t *testing.T) {
	lim := Limits{LoginFailures: 5, UserFailures: 20, LoginWindow: time.Minute}
	now := time.Unix(1_700_000_000, 0)
	t.Run("a source gets its budget, then waits out the window", func(t *testing.T) {
		var l limiter
		for i := range 5 {
			tk, ok, _ := l.admit("198.51.100.1", "admin", now, lim)
			if !ok {
				t.Fatalf("guess %d refused", i+1)
			}
			l.settle(tk, false)
		}
		if _, ok, wait := l.admit("198.51.100.1", "admin", now.Add(10*time.Second), lim); ok || wait != 50*time.Second {
			t.Fatalf("sixth guess: admitted %v, wait %v; want refused for 50s", ok, wait)
		}
		if _, ok, _ := l.admit("198.51.100.1", "admin", now.Add(61*time.Second), lim); !ok {
			t.Fatal("refused after the window ended")
		}
	})
	t.Run("a guessed-at user is still tried from clean sources", func(t *testing.T) {
		var l limiter
		// A botnet: 20 sources, one failure each, exhausts the admin's budget.
		for i := range 20 {
			src := fmt.Sprintf("203.0.113.%d", i)
			tk, ok, _ := l.admit(src, "admin", now, lim)
			if !ok {
				t.Fatalf("source %d refused", i)
			}
			l.settle(tk, false)
		}
		if _, ok, _ := l.admit("203.0.113.0", "admin", now, lim); ok {
			t.Fatal("a source that failed before got another guess at an exhausted user")
		}
		tk, ok, _ := l.admit("192.0.2.50", "admin", now, lim)
		if !ok {
			t.Fatal("the admin's clean workstation was locked out")
		}
		l.settle(tk, true)
		if _, ok, _ := l.admit("192.0.2.50", "admin", now, lim); !ok {
			t.Fatal("a success counted against the admin")
		}
	})
	t.Run("a concurrent burst is evaluated exactly to the budget", func(t *testing.T) {
		var l limiter
		var mu sync.Mutex
		admitted := 0
		var wg sync.WaitGroup
		for range 200 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if tk, ok, _ := l.admit("198.51.100.9", "admin", now, lim); ok {
					mu.Lock()
					admitted++
					mu.Unlock()
					l.settle(tk, false)
				}
			}()
		}
		wg.Wait()
		if admitted != 5 {
			t.Fatalf("%d of 200 concurrent guesses evaluated, want 5", admitted)
		}
	})
	t.Run("the maps stay bounded", func(t *testing.T) {
		var l limiter
		for i := range 3 * maxKeys {
			src := fmt.Sprintf("s%d", i)
			if tk, ok, _ := l.admit(src, "other", now.Add(time.Duration(i)*time.Millisecond*100), lim); ok {
				l.settle(tk, false)
			}
		}
		if len(l.sources) > maxKeys+1 {
			t.Fatalf("%d source windows kept, want at most %d", len(l.sources), maxKeys+1)
		}
	})
}

// Once the map is full of live windows, new sources share one overflow window.
func TestLimiterOverflow(t *testing.T) {
	lim := Limits{LoginFailures: 5, UserFailures: 20, LoginWindow: time.Minute}
	now := time.Unix(1_700_000_000, 0)
	var l limiter
	for i := range maxKeys + 50 {
		if tk, ok, _ := l.admit(fmt.Sprintf("s%d", i), "other", now, lim); ok {
			l.settle(tk, true)
		}
	}
	if len(l.sources) > maxKeys+1 {
		t.Fatalf("%d windows, want at most %d", len(l.sources), maxKeys+1)
	}
}
