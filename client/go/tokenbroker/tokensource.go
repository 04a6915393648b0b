package tokenbroker

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/grpc/codes"

	pb "github.com/tokenbroker/tokenbroker/client/go/tokenbrokerv1"
)

// TokenSource hands out one integration's access token from memory, refreshed ahead of
// expiry, so that the hot path of a caller makes no call at all.
//
// Design: the first AccessToken or Headers call fetches the token from the broker and starts
// one background goroutine, which follows the broker's WatchAccessTokens stream (the broker
// mints the successor at ~75 % of the lifetime and pushes it). Should no successor arrive by
// ~85 % of the lifetime (stream down, broker restarted), the goroutine asks GetAccessToken
// for a token newer than the one it holds. A token is handed out only while it stays valid
// for the minimum validity (default min(60 s, a tenth of its lifetime), as the broker's);
// past that, callers fetch synchronously, one call for all of them (single-flight). A lost
// stream is re-opened with exponential backoff and jitter.
//
// A TokenSource is safe for concurrent use. It implements golang.org/x/oauth2.TokenSource.
// Close it to stop the goroutine and the stream.
type TokenSource struct {
	c           *Client
	name        string
	minValidity time.Duration // 0: min(60 s, lifetime/10)
	watch       bool
	clock       clock

	cur           atomic.Pointer[snapshot]
	wantHeaders   atomic.Bool
	watchRestarts atomic.Int64

	mu      sync.Mutex // guards flight, started, closed
	flight  *flight
	started bool
	closed  bool

	storeMu sync.Mutex // serializes store

	ctx    context.Context // the background goroutine's; canceled by Close
	cancel context.CancelFunc
	done   chan struct{} // closed when the background goroutine has returned
	wake   chan struct{} // a new token was stored: re-plan the fallback timer
}

// snapshot is one immutable state of a TokenSource.
type snapshot struct {
	token       *Token
	static      http.Header // the Adobe headers except Authorization; nil until wanted
	header      http.Header // static plus Authorization; nil when static is
	usableUntil time.Time   // handed out until then
	fallbackAt  time.Time   // the background asks for a successor from then on
}

type flight struct {
	done chan struct{}
	snap *snapshot
	err  error
}

// defaultMinValidity mirrors the broker's --min-validity default.
const defaultMinValidity = 60 * time.Second

// TokenSourceOption configures a TokenSource.
type TokenSourceOption func(*TokenSource)

// WithTokenMinValidity hands out only tokens that stay valid at least d more, instead of
// min(60 s, a tenth of the token's lifetime). Sent to the broker as min_remaining_validity.
func WithTokenMinValidity(d time.Duration) TokenSourceOption {
	return func(ts *TokenSource) { ts.minValidity = d }
}

// clock is what a TokenSource reads the time from and waits on. It is a seam for tests
// (export_test.go): a fake clock drives the refresh-before-expiry decisions without sleeping.
// Implementations are safe for concurrent use.
type clock interface {
	Now() time.Time
	// At returns a channel that receives once the clock has reached t (at once when it has).
	At(t time.Time) <-chan time.Time
}

// systemClock is the real time.
type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) At(t time.Time) <-chan time.Time { return time.After(time.Until(t)) }

// withClock makes the source read the time from c instead of the system clock. For tests
// only: export_test.go exports it to this package's tests; it is not part of the API.
func withClock(c clock) TokenSourceOption {
	return func(ts *TokenSource) { ts.clock = c }
}

// WithoutWatch does not open the WatchAccessTokens stream: the source then only asks
// GetAccessToken for a successor at ~85 % of each token's lifetime.
func WithoutWatch() TokenSourceOption {
	return func(ts *TokenSource) { ts.watch = false }
}

// TokenSource returns a caching token source of the integration (an id or
// "integrations/{id}"). It makes no call until first used.
func (c *Client) TokenSource(integration string, opts ...TokenSourceOption) *TokenSource {
	ts := &TokenSource{c: c, name: IntegrationName(integration), watch: true, clock: systemClock{},
		done: make(chan struct{}), wake: make(chan struct{}, 1)}
	for _, o := range opts {
		o(ts)
	}
	ts.ctx, ts.cancel = context.WithCancel(context.Background())
	return ts
}

// AccessToken returns a token valid for at least the minimum validity, from memory when it
// has one. The returned Token is shared: do not modify it. Errors (*Error): as
// Client.AccessToken, and CANCELED after Close.
func (ts *TokenSource) AccessToken(ctx context.Context) (*Token, error) {
	if s := ts.cur.Load(); s != nil && ts.clock.Now().Before(s.usableUntil) {
		return s.token, nil
	}
	s, err := ts.fetch(ctx, false)
	if err != nil {
		return nil, err
	}
	return s.token, nil
}

// Token implements golang.org/x/oauth2.TokenSource (bounded by the Client's call timeout).
func (ts *TokenSource) Token() (*oauth2.Token, error) {
	t, err := ts.AccessToken(context.Background())
	if err != nil {
		return nil, err
	}
	return t.OAuth2(), nil
}

// Headers returns the HTTP headers an Adobe API call needs: Authorization, X-Api-Key and,
// where the integration has them, X-Gw-Ims-Org-Id and X-Sandbox-Name. The result is the
// caller's to modify. Errors: as AccessToken.
func (ts *TokenSource) Headers(ctx context.Context) (http.Header, error) {
	h, err := ts.headers(ctx)
	if err != nil {
		return nil, err
	}
	return h.Clone(), nil
}

// headers is Headers without the copy: the result must not be modified.
func (ts *TokenSource) headers(ctx context.Context) (http.Header, error) {
	if s := ts.cur.Load(); s != nil && s.header != nil && ts.clock.Now().Before(s.usableUntil) {
		return s.header, nil
	}
	s, err := ts.fetch(ctx, true)
	if err != nil {
		return nil, err
	}
	return s.header, nil
}

// Close stops the background goroutine and the stream, and waits for them to end. Calls
// after Close fail with CANCELED. Close is idempotent.
func (ts *TokenSource) Close() error {
	ts.mu.Lock()
	started := ts.started
	ts.closed = true
	ts.mu.Unlock()
	ts.cancel()
	if started {
		<-ts.done
	}
	return nil
}

var errClosed = errorf(codes.Canceled, "token source closed")

func (ts *TokenSource) usable(s *snapshot, needHeaders bool) bool {
	return s != nil && (!needHeaders || s.header != nil) && ts.clock.Now().Before(s.usableUntil)
}

// fetch returns a usable snapshot, calling the broker when there is none: one caller calls
// (the leader), the others wait for its result.
func (ts *TokenSource) fetch(ctx context.Context, needHeaders bool) (*snapshot, error) {
	if needHeaders {
		ts.wantHeaders.Store(true)
	}
	for {
		ts.mu.Lock()
		if ts.closed {
			ts.mu.Unlock()
			return nil, errClosed
		}
		if s := ts.cur.Load(); ts.usable(s, needHeaders) {
			ts.mu.Unlock()
			return s, nil
		}
		if !ts.started {
			ts.started = true
			go ts.run()
		}
		f := ts.flight
		leader := f == nil
		if leader {
			f = &flight{done: make(chan struct{})}
			ts.flight = f
		}
		ts.mu.Unlock()

		if leader {
			f.snap, f.err = ts.load(ctx, needHeaders)
			ts.mu.Lock()
			ts.flight = nil
			ts.mu.Unlock()
			close(f.done)
			return f.snap, f.err
		}
		select {
		case <-f.done:
			if f.err == nil {
				if ts.usable(f.snap, needHeaders) {
					return f.snap, nil
				}
				continue // the leader fetched less than this caller needs
			}
			if ctx.Err() == nil && (errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)) {
				continue // the leader's context ended, not this caller's: try again
			}
			return nil, f.err
		case <-ctx.Done():
			return nil, FromError(ctx.Err())
		}
	}
}

// load calls the broker for what the current snapshot lacks, and stores the result.
func (ts *TokenSource) load(ctx context.Context, needHeaders bool) (*snapshot, error) {
	cur := ts.cur.Load()
	tok := (*Token)(nil)
	if cur != nil && ts.clock.Now().Before(cur.usableUntil) {
		tok = cur.token
	} else {
		var err error
		if tok, err = ts.c.AccessToken(ctx, ts.name, ts.requestOptions()...); err != nil {
			return nil, err
		}
	}
	var static http.Header
	if needHeaders || ts.wantHeaders.Load() {
		var err error
		if static, err = ts.fetchStatic(ctx); err != nil {
			return nil, err
		}
	}
	return ts.store(tok, static), nil
}

func (ts *TokenSource) requestOptions() []RequestOption {
	if ts.minValidity > 0 {
		return []RequestOption{MinValidity(ts.minValidity)}
	}
	return nil
}

// fetchStatic returns the integration's Adobe headers other than Authorization.
func (ts *TokenSource) fetchStatic(ctx context.Context) (http.Header, error) {
	h, _, err := ts.c.RequestHeaders(ctx, ts.name, ts.requestOptions()...)
	if err != nil {
		return nil, err
	}
	h.Del("Authorization")
	return h, nil
}

// store makes tok (unless the current token expires later) and static (unless nil) current.
func (ts *TokenSource) store(tok *Token, static http.Header) *snapshot {
	ts.storeMu.Lock()
	defer ts.storeMu.Unlock()
	cur := ts.cur.Load()
	if cur != nil {
		if tok == nil || tok.ExpireTime.Before(cur.token.ExpireTime) {
			tok = cur.token
		}
		if static == nil {
			static = cur.static
		}
	}
	if tok == nil {
		return nil // nothing to store yet
	}
	changed := cur == nil || tok != cur.token
	s := &snapshot{token: tok, static: static}
	now := ts.clock.Now()
	margin := ts.margin(tok, now)
	s.usableUntil = tok.ExpireTime.Add(-margin)
	s.fallbackAt = tok.ExpireTime.Add(-max(2*margin, lifetime(tok, now)*15/100))
	if static != nil {
		s.header = static.Clone()
		s.header.Set("Authorization", "Bearer "+tok.AccessToken)
	}
	ts.cur.Store(s)
	if changed {
		select {
		case ts.wake <- struct{}{}:
		default:
		}
	}
	return s
}

// lifetime is the token's lifetime; from now when its issue time is unknown.
func lifetime(t *Token, now time.Time) time.Duration {
	if l := t.ExpireTime.Sub(t.IssueTime); !t.IssueTime.IsZero() && l > 0 {
		return l
	}
	return max(t.ExpireTime.Sub(now), 0)
}

// margin is how long before expiry a token stops being handed out.
func (ts *TokenSource) margin(t *Token, now time.Time) time.Duration {
	if ts.minValidity > 0 {
		return ts.minValidity
	}
	return min(defaultMinValidity, lifetime(t, now)/10)
}

type streamEvent struct {
	token *Token
	err   error
}

// run is the background goroutine: it follows the stream and asks for successors when the
// stream brings none in time.
func (ts *TokenSource) run() {
	defer close(ts.done)
	var (
		events        chan streamEvent // nil while no stream is open
		stopStream    context.CancelFunc
		reconnectAt   time.Time
		reconnect     = backoffState{min: watchRearmMin, max: watchRearmMax}
		fallbackRetry = backoffState{min: 100 * time.Millisecond, max: 5 * time.Second}
		retryAt       time.Time // after a failed fallback call
	)
	defer func() {
		if stopStream != nil {
			stopStream()
		}
	}()
	for {
		now := ts.clock.Now()
		if ts.watch && events == nil && !now.Before(reconnectAt) {
			events, stopStream = ts.openStream()
		}
		// The next wake-up: the fallback time (or its retry), or the stream's reconnection.
		next := now.Add(time.Hour)
		if s := ts.cur.Load(); s != nil {
			next = s.fallbackAt
			if retryAt.After(next) {
				next = retryAt
			}
		}
		if ts.watch && events == nil && reconnectAt.Before(next) {
			next = reconnectAt
		}
		wakeUp := ts.clock.At(next)

		select {
		case <-ts.ctx.Done():
			return
		case ev := <-events:
			if ev.err != nil {
				stopStream()
				events, stopStream = nil, nil
				wait := reconnect.next()
				reconnectAt = ts.clock.Now().Add(wait)
				ts.onStreamEnded(ev.err, wait)
				if errors.Is(ev.err, ErrNotFound) {
					// The integration was deleted: stop handing out its token.
					ts.invalidate()
				}
				continue
			}
			reconnect.reset()
			ts.onNewToken(ev.token)
		case <-ts.wake:
			retryAt = time.Time{}
			fallbackRetry.reset()
		case <-wakeUp:
			s := ts.cur.Load()
			now := ts.clock.Now()
			if s == nil || now.Before(s.fallbackAt) || now.Before(retryAt) {
				continue // a reconnection is due, or the token changed meanwhile
			}
			if err := ts.askSuccessor(s.token); err != nil {
				retryAt = ts.clock.Now().Add(fallbackRetry.next())
			}
		}
	}
}

// The watch stream is reopened after an exponential, jittered wait between these, reset once
// a token arrives (client/BEHAVIOUR.md §4).
const (
	watchRearmMin = 200 * time.Millisecond
	watchRearmMax = 30 * time.Second
)

// WatchRestarts returns how many times the source's WatchAccessTokens stream ended and was
// scheduled to be reopened (each also logged at warning level to the Client's WithLogger).
func (ts *TokenSource) WatchRestarts() int64 { return ts.watchRestarts.Load() }

// onStreamEnded counts and logs the end of a watch stream that is reopened after wait.
func (ts *TokenSource) onStreamEnded(err error, wait time.Duration) {
	n := ts.watchRestarts.Add(1)
	ts.c.opts.logger.LogAttrs(ts.ctx, slog.LevelWarn, "tokenbroker: watch stream ended; reopening",
		slog.String("integration", ts.name), slog.String("error", err.Error()),
		slog.Duration("retry_in", wait), slog.Int64("restarts", n))
}

// openStream starts a goroutine that runs one stream; cancel stops it.
func (ts *TokenSource) openStream() (events chan streamEvent, cancel context.CancelFunc) {
	ctx, cancel := context.WithCancel(ts.ctx)
	events = make(chan streamEvent)
	go ts.receive(ctx, events)
	return events, cancel
}

// receive runs one WatchAccessTokens stream, sending each token, then the error that ended
// it, to events, until ctx ends.
func (ts *TokenSource) receive(ctx context.Context, events chan<- streamEvent) {
	send := func(ev streamEvent) bool {
		select {
		case events <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	stream, err := ts.c.tokens.WatchAccessTokens(ctx, &pb.WatchAccessTokensRequest{Name: ts.name})
	if err != nil {
		send(streamEvent{err: err})
		return
	}
	for {
		resp, err := stream.Recv()
		if err != nil {
			if err == io.EOF {
				err = errorf(codes.Unavailable, "token stream ended")
			}
			send(streamEvent{err: err})
			return
		}
		if !send(streamEvent{token: tokenFromProto(resp.GetToken())}) {
			return
		}
	}
}

// askSuccessor asks GetAccessToken for a token that outlives old.
func (ts *TokenSource) askSuccessor(old *Token) error {
	want := old.ExpireTime.Sub(ts.clock.Now()) + time.Second
	want = min(max(want, ts.minValidity), 12*time.Hour)
	tok, err := ts.c.AccessToken(ts.ctx, ts.name, MinValidity(want))
	if err != nil {
		return err
	}
	if !tok.ExpireTime.After(old.ExpireTime) {
		// The broker's clock is behind ours: it still finds the old token good enough.
		return errorf(codes.Unavailable, "no successor yet")
	}
	ts.onNewToken(tok)
	return nil
}

// invalidate forgets the current token, so that the next call asks the broker.
func (ts *TokenSource) invalidate() {
	ts.storeMu.Lock()
	defer ts.storeMu.Unlock()
	ts.cur.Store(nil)
}

// onNewToken stores a token from the stream or a fallback call, with fresh static headers
// when they are in use (an integration's settings may have changed with its token).
func (ts *TokenSource) onNewToken(tok *Token) {
	cur := ts.cur.Load()
	if cur != nil && cur.token.AccessToken == tok.AccessToken {
		return // the stream's first message: the token already held
	}
	ts.store(tok, nil)
	if ts.wantHeaders.Load() {
		if static, err := ts.fetchStatic(ts.ctx); err == nil {
			ts.store(nil, static)
		}
	}
}

// backoffState is exponential backoff with full jitter between min and max.
type backoffState struct {
	min, max time.Duration
	bound    time.Duration
}

func (b *backoffState) next() time.Duration {
	if b.bound < b.min {
		b.bound = b.min
	}
	d := b.bound/2 + time.Duration(rand.Int64N(int64(b.bound/2)+1))
	b.bound = min(2*b.bound, b.max)
	return d
}

func (b *backoffState) reset() { b.bound = 0 }
