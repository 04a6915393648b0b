package tokenbroker_test

import (
	"sync"
	"testing"
	"time"
)

// fakeClock is a manual clock for TokenSource tests (tokenbroker.WithClock): time stands
// still until Advance moves it, and At channels fire when it reaches their time.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) At(t time.Time) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if !t.After(c.now) {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{at: t, ch: ch})
	return ch
}

// Advance moves the clock forward by d and fires the channels whose time has come.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
		} else {
			w.ch <- c.now
		}
	}
	c.waiters = kept
}

// waiting reports whether some goroutine waits (At) for exactly t: how a test knows when
// a background goroutine has planned its next wake-up.
func (c *fakeClock) waiting(t time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.waiters {
		if w.at.Equal(t) {
			return true
		}
	}
	return false
}

// waitingBefore reports whether some goroutine waits (At) for a time before t.
func (c *fakeClock) waitingBefore(t time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.waiters {
		if w.at.Before(t) {
			return true
		}
	}
	return false
}

// Set moves the clock forward to t (never back).
func (c *fakeClock) Set(t time.Time) {
	c.Advance(max(t.Sub(c.Now()), 0))
}

// waitUntil polls cond every few milliseconds (real time) until it holds, and fails the test
// when it does not within timeout. For conditions another goroutine makes true.
func waitUntil(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
