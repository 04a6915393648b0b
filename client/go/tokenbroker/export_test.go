package tokenbroker

// Test-only exports for the package's external tests (package tokenbroker_test).

// Clock is the time source of a TokenSource (see clock).
type Clock = clock

// WithClock makes a TokenSource read the time from c and wait on it: tests drive the
// refresh-before-expiry decisions with a fake clock instead of sleeping.
func WithClock(c Clock) TokenSourceOption { return withClock(c) }
