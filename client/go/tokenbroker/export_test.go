package tokenbroker

import "time"

// Test-only exports for the package's external tests (package tokenbroker_test).

// Clock is the time source of a TokenSource (see clock).
type Clock = clock

// WithClock makes a TokenSource read the time from c and wait on it: tests drive the
// refresh-before-expiry decisions with a fake clock instead of sleeping.
func WithClock(c Clock) TokenSourceOption { return withClock(c) }

// Settings are the options a Client resolved, for the conformance runner's check_defaults.
type Settings struct {
	TLS               bool
	CallTimeout       time.Duration
	Retry             RetryPolicy
	CallerTokenReload time.Duration
}

// ClientSettings returns what c was made with.
func ClientSettings(c *Client) Settings {
	return Settings{TLS: c.opts.security != securityPlaintext, CallTimeout: c.opts.callTimeout,
		Retry: c.opts.retry, CallerTokenReload: c.opts.callerTokenReload}
}

// TokenSourceMinValidity returns ts's minimum validity; 0 means the server's rule.
func TokenSourceMinValidity(ts *TokenSource) time.Duration { return ts.minValidity }

// Backoff is p's wait before attempt number attempt+1 given the server's RetryInfo delay.
func Backoff(p RetryPolicy, attempt int, serverDelay time.Duration) time.Duration {
	return p.backoff(attempt, serverDelay)
}
