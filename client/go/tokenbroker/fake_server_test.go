package tokenbroker_test

// Interaction tests against an in-process fake TokenService: what the SDK sends (caller
// token, deadlines), how often it calls (retries, single-flight, the stream), none of which
// the real server can be made to show.

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenbroker/tokenbroker/client/go/tokenbroker"
	pb "github.com/tokenbroker/tokenbroker/client/go/tokenbrokerv1"
)

// fakeTokens is a TokenService whose answers the test scripts.
type fakeTokens struct {
	pb.UnimplementedTokenServiceServer
	pb.UnimplementedIntegrationServiceServer

	getCalls    atomic.Int32
	createCalls atomic.Int32
	watchCalls  atomic.Int32
	get         func(ctx context.Context, call int32, req *pb.GetAccessTokenRequest) (*pb.GetAccessTokenResponse, error)
	watch       chan *pb.AccessToken // tokens to push on WatchAccessTokens

	mu       sync.Mutex
	lastAuth []string
}

func (f *fakeTokens) GetAccessToken(ctx context.Context, req *pb.GetAccessTokenRequest) (*pb.GetAccessTokenResponse, error) {
	n := f.getCalls.Add(1)
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	f.lastAuth = md.Get("authorization")
	f.mu.Unlock()
	return f.get(ctx, n, req)
}

func (f *fakeTokens) WatchAccessTokens(req *pb.WatchAccessTokensRequest, stream grpc.ServerStreamingServer[pb.WatchAccessTokensResponse]) error {
	f.watchCalls.Add(1)
	if f.watch == nil {
		return status.Error(codes.Unimplemented, "no stream in this test")
	}
	for {
		select {
		case <-stream.Context().Done():
			return nil
		case tok, ok := <-f.watch:
			if !ok {
				return status.Error(codes.NotFound, "integration deleted")
			}
			if err := stream.Send(&pb.WatchAccessTokensResponse{Token: tok}); err != nil {
				return err
			}
		}
	}
}

func (f *fakeTokens) CreateIntegration(context.Context, *pb.CreateIntegrationRequest) (*pb.CreateIntegrationResponse, error) {
	f.createCalls.Add(1)
	return nil, status.Error(codes.Unavailable, "always")
}

func (f *fakeTokens) auth() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastAuth
}

// startFake serves f on a free loopback port and returns its address.
func startFake(t *testing.T, f *fakeTokens) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	pb.RegisterTokenServiceServer(srv, f)
	pb.RegisterIntegrationServiceServer(srv, f)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

func newClient(t *testing.T, addr string, opts ...tokenbroker.Option) *tokenbroker.Client {
	t.Helper()
	c, err := tokenbroker.New(addr, append([]tokenbroker.Option{tokenbroker.WithPlaintext()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

var tokenSerial atomic.Int64

func fakeToken(lifetime time.Duration) *pb.AccessToken {
	now := time.Now()
	return &pb.AccessToken{AccessToken: "tok-" + strconv.FormatInt(tokenSerial.Add(1), 10),
		TokenType: "bearer", IssueTime: timestamppb.New(now),
		ExpireTime: timestamppb.New(now.Add(lifetime)), Integration: "integrations/app"}
}

func okToken(lifetime time.Duration) func(context.Context, int32, *pb.GetAccessTokenRequest) (*pb.GetAccessTokenResponse, error) {
	return func(context.Context, int32, *pb.GetAccessTokenRequest) (*pb.GetAccessTokenResponse, error) {
		return &pb.GetAccessTokenResponse{Token: fakeToken(lifetime)}, nil
	}
}

var fastRetry = tokenbroker.RetryPolicy{MaxAttempts: 4, InitialBackoff: 10 * time.Millisecond,
	MaxBackoff: 50 * time.Millisecond, Multiplier: 2}

func TestRetry_UnavailableRetriedUntilSuccess(t *testing.T) {
	f := &fakeTokens{get: func(ctx context.Context, n int32, _ *pb.GetAccessTokenRequest) (*pb.GetAccessTokenResponse, error) {
		if n < 3 {
			return nil, status.Error(codes.Unavailable, "try again")
		}
		return okToken(time.Hour)(ctx, n, nil)
	}}
	c := newClient(t, startFake(t, f), tokenbroker.WithRetry(fastRetry))
	if _, err := c.AccessToken(context.Background(), "app"); err != nil {
		t.Fatalf("AccessToken: %v", err)
	}
	if n := f.getCalls.Load(); n != 3 {
		t.Errorf("calls = %d, want 3", n)
	}
}

func TestRetry_GivesUpAfterMaxAttempts(t *testing.T) {
	f := &fakeTokens{get: func(context.Context, int32, *pb.GetAccessTokenRequest) (*pb.GetAccessTokenResponse, error) {
		return nil, status.Error(codes.Unavailable, "down")
	}}
	c := newClient(t, startFake(t, f), tokenbroker.WithRetry(fastRetry))
	_, err := c.AccessToken(context.Background(), "app")
	requireError(t, err, codes.Unavailable)
	if n := f.getCalls.Load(); n != 4 {
		t.Errorf("calls = %d, want 4", n)
	}
}

func TestRetry_HonoursRetryInfoDelay(t *testing.T) {
	f := &fakeTokens{get: func(ctx context.Context, n int32, _ *pb.GetAccessTokenRequest) (*pb.GetAccessTokenResponse, error) {
		if n == 1 {
			st, _ := status.New(codes.Unavailable, "slow down").WithDetails(
				&errdetails.RetryInfo{RetryDelay: durationpb.New(300 * time.Millisecond)})
			return nil, st.Err()
		}
		return okToken(time.Hour)(ctx, n, nil)
	}}
	c := newClient(t, startFake(t, f), tokenbroker.WithRetry(fastRetry))
	start := time.Now()
	if _, err := c.AccessToken(context.Background(), "app"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("retried after %v, before the server's RetryInfo delay of 300 ms", d)
	}
}

func TestRetry_OtherCodesAndMutationsNotRetried(t *testing.T) {
	f := &fakeTokens{get: func(context.Context, int32, *pb.GetAccessTokenRequest) (*pb.GetAccessTokenResponse, error) {
		return nil, status.Error(codes.FailedPrecondition, "no")
	}}
	c := newClient(t, startFake(t, f), tokenbroker.WithRetry(fastRetry))
	_, err := c.AccessToken(context.Background(), "app")
	requireError(t, err, codes.FailedPrecondition)
	if n := f.getCalls.Load(); n != 1 {
		t.Errorf("GetAccessToken calls = %d, want 1", n)
	}
	_, err = c.IntegrationService().CreateIntegration(context.Background(), &pb.CreateIntegrationRequest{})
	requireError(t, err, codes.Unavailable)
	if n := f.createCalls.Load(); n != 1 {
		t.Errorf("CreateIntegration calls = %d, want 1 (never retried)", n)
	}
}

func TestRetry_StopsAtDeadline(t *testing.T) {
	f := &fakeTokens{get: func(context.Context, int32, *pb.GetAccessTokenRequest) (*pb.GetAccessTokenResponse, error) {
		return nil, status.Error(codes.Unavailable, "down")
	}}
	c := newClient(t, startFake(t, f), tokenbroker.WithRetry(tokenbroker.RetryPolicy{
		MaxAttempts: 100, InitialBackoff: 100 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}))
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.AccessToken(ctx, "app")
	requireError(t, err, codes.Unavailable) // the last server error, not a bare deadline
	// Without the deadline the 100 attempts would take about 7.5 s; the bound leaves room for a
	// loaded machine (a 600 ms bound was 100 ms from the deadline).
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("returned after %v, want soon after the 500 ms deadline", d)
	}
}

func TestRetry_ARetryTheDeadlineEndsReturnsTheUnavailable(t *testing.T) {
	f := &fakeTokens{get: func(ctx context.Context, n int32, _ *pb.GetAccessTokenRequest) (*pb.GetAccessTokenResponse, error) {
		if n == 1 {
			return nil, status.Error(codes.Unavailable, "draining")
		}
		<-ctx.Done() // the retry outlives the call's deadline
		return nil, status.FromContextError(ctx.Err()).Err()
	}}
	c := newClient(t, startFake(t, f), tokenbroker.WithRetry(fastRetry))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := c.AccessToken(ctx, "app")
	requireError(t, err, codes.Unavailable)
	if n := f.getCalls.Load(); n != 2 {
		t.Errorf("GetAccessToken calls = %d, want 2", n)
	}
}

func TestCallTimeout_BoundsCallsWithoutDeadline(t *testing.T) {
	f := &fakeTokens{get: func(ctx context.Context, _ int32, _ *pb.GetAccessTokenRequest) (*pb.GetAccessTokenResponse, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	c := newClient(t, startFake(t, f), tokenbroker.WithCallTimeout(200*time.Millisecond))
	start := time.Now()
	_, err := c.AccessToken(context.Background(), "app")
	requireError(t, err, codes.DeadlineExceeded)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, tokenbroker.ErrDeadlineExceeded) {
		t.Errorf("errors.Is(context.DeadlineExceeded / ErrDeadlineExceeded) false for %v", err)
	}
	if d := time.Since(start); d < 150*time.Millisecond || d > 2*time.Second {
		t.Errorf("took %v, want about 200 ms", d)
	}
}

func TestCallerToken_SentAsBearerMetadata(t *testing.T) {
	f := &fakeTokens{get: okToken(time.Hour)}
	addr := startFake(t, f)

	c := newClient(t, addr, tokenbroker.WithCallerToken("caller-secret"))
	if _, err := c.AccessToken(context.Background(), "app"); err != nil {
		t.Fatal(err)
	}
	if got := f.auth(); len(got) != 1 || got[0] != "Bearer caller-secret" {
		t.Errorf("authorization metadata = %q, want [Bearer caller-secret]", got)
	}

	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c2 := newClient(t, addr, tokenbroker.WithCallerTokenFile(file))
	if _, err := c2.AccessToken(context.Background(), "app"); err != nil {
		t.Fatal(err)
	}
	if got := f.auth(); len(got) != 1 || got[0] != "Bearer from-file" {
		t.Errorf("authorization metadata = %q, want [Bearer from-file]", got)
	}

	if _, err := tokenbroker.New(addr, tokenbroker.WithPlaintext(),
		tokenbroker.WithCallerTokenFile(filepath.Join(t.TempDir(), "missing"))); err == nil {
		t.Errorf("New with a missing caller token file succeeded")
	}
}

func TestCallerToken_NotSentOverPlaintextUnlessChosen(t *testing.T) {
	// Default security is TLS: a caller token can never leak over a plaintext connection by
	// accident. Against a plaintext server the TLS handshake fails before anything is sent.
	f := &fakeTokens{get: okToken(time.Hour)}
	c, err := tokenbroker.New(startFake(t, f), tokenbroker.WithCallerToken("x"), tokenbroker.WithoutRetry())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.AccessToken(context.Background(), "app"); err == nil {
		t.Fatal("TLS client reached a plaintext server")
	}
	if f.getCalls.Load() != 0 {
		t.Errorf("the server got a call")
	}
}

func TestTokenSource_ColdCallersMakeOneCall(t *testing.T) {
	release := make(chan struct{})
	f := &fakeTokens{get: func(ctx context.Context, n int32, _ *pb.GetAccessTokenRequest) (*pb.GetAccessTokenResponse, error) {
		<-release // held open until every caller has asked
		return okToken(time.Hour)(ctx, n, nil)
	}}
	ts := newClient(t, startFake(t, f)).TokenSource("app", tokenbroker.WithoutWatch())
	defer ts.Close()
	var wg sync.WaitGroup
	var asking atomic.Int32
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			asking.Add(1)
			if _, err := ts.AccessToken(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	waitUntil(t, 5*time.Second, "100 callers and the first call", func() bool {
		return asking.Load() == 100 && f.getCalls.Load() == 1
	})
	close(release)
	wg.Wait()
	if n := f.getCalls.Load(); n != 1 {
		t.Errorf("GetAccessToken calls = %d, want 1", n)
	}
}

func TestTokenSource_TakesSuccessorFromStream(t *testing.T) {
	f := &fakeTokens{get: okToken(time.Hour), watch: make(chan *pb.AccessToken, 1)}
	ts := newClient(t, startFake(t, f)).TokenSource("app")
	defer ts.Close()
	first, err := ts.AccessToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	next := fakeToken(2 * time.Hour)
	f.watch <- next
	waitUntil(t, 5*time.Second, "the successor from the stream", func() bool {
		tok, err := ts.AccessToken(context.Background())
		if err != nil || (tok.AccessToken != first.AccessToken && tok.AccessToken != next.AccessToken) {
			t.Fatalf("AccessToken = %v, %v; want %q, then %q from the stream", tok, err,
				first.AccessToken, next.AccessToken)
		}
		return tok.AccessToken == next.AccessToken
	})
	if n := f.getCalls.Load(); n != 1 {
		t.Errorf("GetAccessToken calls = %d, want 1 (the successor came on the stream)", n)
	}
	// An older token on the stream (reordering, a lagging replica) is ignored. Nothing can be
	// awaited for a change that must not happen: this pause is the behaviour under test, the
	// time in which the source would have (wrongly) taken it.
	f.watch <- fakeToken(30 * time.Minute)
	time.Sleep(100 * time.Millisecond)
	if tok, _ := ts.AccessToken(context.Background()); tok.AccessToken != next.AccessToken {
		t.Errorf("an older token from the stream replaced a newer one")
	}
}

func TestTokenSource_StreamEndsNotFound_TokenDropped(t *testing.T) {
	f := &fakeTokens{get: okToken(time.Hour), watch: make(chan *pb.AccessToken)}
	ts := newClient(t, startFake(t, f)).TokenSource("app")
	defer ts.Close()
	if _, err := ts.AccessToken(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 5*time.Second, "the stream to open", func() bool { return f.watchCalls.Load() > 0 })
	f.get = func(context.Context, int32, *pb.GetAccessTokenRequest) (*pb.GetAccessTokenResponse, error) {
		return nil, status.Error(codes.NotFound, "integration deleted")
	}
	close(f.watch) // the stream ends with NOT_FOUND, as when the integration is deleted
	waitUntil(t, 5*time.Second, "NOT_FOUND after the stream ended with it", func() bool {
		_, err := ts.AccessToken(context.Background())
		return errors.Is(err, tokenbroker.ErrNotFound)
	})
}

// fakeClockTokens mints tokens of the given lifetime on clock's time and records, per
// GetAccessToken call, the clock's time and the min_remaining_validity asked for.
type fakeClockTokens struct {
	clock    *fakeClock
	lifetime time.Duration
	fail     atomic.Bool // answer UNAVAILABLE

	mu    sync.Mutex
	times []time.Time
	asked []time.Duration
}

func (m *fakeClockTokens) get(_ context.Context, _ int32, req *pb.GetAccessTokenRequest) (*pb.GetAccessTokenResponse, error) {
	now := m.clock.Now()
	m.mu.Lock()
	m.times = append(m.times, now)
	m.asked = append(m.asked, req.GetMinRemainingValidity().AsDuration())
	m.mu.Unlock()
	if m.fail.Load() {
		return nil, status.Error(codes.Unavailable, "down")
	}
	return &pb.GetAccessTokenResponse{Token: &pb.AccessToken{
		AccessToken: "tok-" + strconv.FormatInt(tokenSerial.Add(1), 10), TokenType: "bearer",
		IssueTime: timestamppb.New(now), ExpireTime: timestamppb.New(now.Add(m.lifetime)),
		Integration: "integrations/app"}}, nil
}

func (m *fakeClockTokens) calls() ([]time.Time, []time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]time.Time(nil), m.times...), append([]time.Duration(nil), m.asked...)
}

// A one-hour token is handed out from memory until 85 % of its lifetime; then the background
// asks GetAccessToken for a successor that outlives it, and hands that out.
func TestTokenSource_WithoutWatch_AsksForSuccessorAt85PercentOfLifetime(t *testing.T) {
	clock := newFakeClock()
	m := &fakeClockTokens{clock: clock, lifetime: time.Hour}
	f := &fakeTokens{get: m.get}
	ts := newClient(t, startFake(t, f)).TokenSource("app", tokenbroker.WithoutWatch(),
		tokenbroker.WithClock(clock))
	defer ts.Close()
	start := clock.Now()
	first, err := ts.AccessToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	waitUntil(t, 5*time.Second, "the background to plan its call for 51 min", func() bool {
		return clock.waiting(start.Add(51 * time.Minute))
	})
	clock.Set(start.Add(51*time.Minute - time.Second))
	if tok, err := ts.AccessToken(context.Background()); err != nil || tok != first {
		t.Fatalf("at 51 min - 1 s: %v, %v; want the first token from memory", tok, err)
	}
	clock.Set(start.Add(51 * time.Minute))
	waitUntil(t, 5*time.Second, "the successor", func() bool {
		tok, err := ts.AccessToken(context.Background())
		return err == nil && tok.AccessToken != first.AccessToken
	})

	times, asked := m.calls()
	if len(times) != 2 {
		t.Fatalf("GetAccessToken calls = %d, want 2", len(times))
	}
	if got := times[1].Sub(start); got != 51*time.Minute {
		t.Errorf("successor asked for at %v, want at 51m0s (85 %% of 1 h)", got)
	}
	// "Outlive the current token": its 9 remaining minutes plus a second.
	if asked[1] != 9*time.Minute+time.Second {
		t.Errorf("successor asked with min_remaining_validity %v, want 9m1s", asked[1])
	}
}

// Past its minimum validity (default: 60 s for a one-hour token) a cached token is never
// handed out: the caller asks the broker, and gets its error when the broker fails.
func TestTokenSource_PastMinValidity_CallsBrokerInsteadOfCachedToken(t *testing.T) {
	clock := newFakeClock()
	m := &fakeClockTokens{clock: clock, lifetime: time.Hour}
	f := &fakeTokens{get: m.get}
	ts := newClient(t, startFake(t, f), tokenbroker.WithoutRetry()).TokenSource("app",
		tokenbroker.WithoutWatch(), tokenbroker.WithClock(clock))
	defer ts.Close()
	start := clock.Now()
	first, err := ts.AccessToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m.fail.Store(true) // no successor: the background's attempts fail too

	clock.Set(start.Add(59*time.Minute - time.Millisecond))
	if tok, err := ts.AccessToken(context.Background()); err != nil || tok != first {
		t.Fatalf("1 ms before its minimum validity: %v, %v; want the cached token", tok, err)
	}
	clock.Set(start.Add(59 * time.Minute))
	_, err = ts.AccessToken(context.Background())
	requireError(t, err, codes.Unavailable)
}

// No stream (UNIMPLEMENTED): the stream is re-opened with backoff, and the source still asks
// for a successor ahead of expiry.
func TestTokenSource_StreamLost_ReconnectsAndFallsBack(t *testing.T) {
	clock := newFakeClock()
	m := &fakeClockTokens{clock: clock, lifetime: time.Hour}
	f := &fakeTokens{get: m.get}
	ts := newClient(t, startFake(t, f)).TokenSource("app", tokenbroker.WithClock(clock))
	defer ts.Close()
	first, err := ts.AccessToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	start := clock.Now()
	// The stream failed: the background plans its reconnection (before the 51-min fallback).
	waitUntil(t, 5*time.Second, "a reconnection planned", func() bool {
		return clock.waitingBefore(start.Add(51 * time.Minute))
	})

	clock.Advance(time.Second) // past the first reconnection backoff (at most 200 ms)
	waitUntil(t, 5*time.Second, "the stream re-opened", func() bool { return f.watchCalls.Load() >= 2 })
	clock.Advance(51*time.Minute - time.Second)
	waitUntil(t, 5*time.Second, "a successor ahead of expiry", func() bool {
		tok, err := ts.AccessToken(context.Background())
		return err == nil && tok.AccessToken != first.AccessToken
	})
}

func TestTokenSource_Close_StopsAndFailsLaterCalls(t *testing.T) {
	f := &fakeTokens{get: okToken(time.Hour), watch: make(chan *pb.AccessToken)}
	ts := newClient(t, startFake(t, f)).TokenSource("app")
	if _, err := ts.AccessToken(context.Background()); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { ts.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	ts.Close() // idempotent
	ts2 := newClient(t, startFake(t, f)).TokenSource("app")
	ts2.Close()
	if _, err := ts2.AccessToken(context.Background()); !errors.Is(err, context.Canceled) {
		t.Errorf("AccessToken after Close: %v, want CANCELED", err)
	}
}

func TestFromError_DecodesRichDetails(t *testing.T) {
	st, _ := status.New(codes.FailedPrecondition, "IMS rejected").WithDetails(
		&errdetails.ErrorInfo{Reason: "IMS_REJECTED", Domain: "tokenbroker.dev",
			Metadata: map[string]string{"ims_error": "invalid_scope", "x_debug_id": "abc", "http_status": "400"}},
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "scopes"}}},
		&errdetails.RetryInfo{RetryDelay: durationpb.New(2 * time.Second)})
	e := tokenbroker.FromError(st.Err())
	if e.Reason != "IMS_REJECTED" || e.IMSError != "invalid_scope" || e.XDebugID != "abc" ||
		e.HTTPStatus != 400 || e.Field != "scopes" || e.RetryDelay != 2*time.Second {
		t.Errorf("decoded %+v", e)
	}
	if status.Convert(e).Code() != codes.FailedPrecondition || len(status.Convert(e).Details()) != 3 {
		t.Errorf("GRPCStatus lost the code or details")
	}
	if tokenbroker.FromError(nil) != nil {
		t.Errorf("FromError(nil) != nil")
	}
	if e := tokenbroker.FromError(context.Canceled); e.Code != codes.Canceled {
		t.Errorf("FromError(context.Canceled).Code = %v", e.Code)
	}
}
