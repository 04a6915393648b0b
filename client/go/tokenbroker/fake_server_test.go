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
	if d := time.Since(start); d > 600*time.Millisecond {
		t.Errorf("returned after %v, want by the 500 ms deadline", d)
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
	f := &fakeTokens{get: func(ctx context.Context, n int32, _ *pb.GetAccessTokenRequest) (*pb.GetAccessTokenResponse, error) {
		time.Sleep(100 * time.Millisecond)
		return okToken(time.Hour)(ctx, n, nil)
	}}
	ts := newClient(t, startFake(t, f)).TokenSource("app", tokenbroker.WithoutWatch())
	defer ts.Close()
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := ts.AccessToken(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
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
	deadline := time.Now().Add(5 * time.Second)
	for {
		tok, err := ts.AccessToken(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if tok.AccessToken == next.AccessToken {
			break
		}
		if tok.AccessToken != first.AccessToken || time.Now().After(deadline) {
			t.Fatalf("token %q, want %q from the stream", tok.AccessToken, next.AccessToken)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := f.getCalls.Load(); n != 1 {
		t.Errorf("GetAccessToken calls = %d, want 1 (the successor came on the stream)", n)
	}
	// An older token on the stream (reordering, a lagging replica) is ignored.
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
	for f.watchCalls.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	f.get = func(context.Context, int32, *pb.GetAccessTokenRequest) (*pb.GetAccessTokenResponse, error) {
		return nil, status.Error(codes.NotFound, "integration deleted")
	}
	close(f.watch) // the stream ends with NOT_FOUND, as when the integration is deleted
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := ts.AccessToken(context.Background())
		if errors.Is(err, tokenbroker.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %v 5 s after the stream ended with NOT_FOUND", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestTokenSource_StreamLost_ReconnectsAndFallsBack(t *testing.T) {
	// No stream (UNIMPLEMENTED): the source still asks for a successor ahead of expiry.
	f := &fakeTokens{get: okToken(2 * time.Second)}
	ts := newClient(t, startFake(t, f)).TokenSource("app")
	defer ts.Close()
	first, err := ts.AccessToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1900 * time.Millisecond)
	tok, err := ts.AccessToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == first.AccessToken {
		t.Errorf("no successor fetched ahead of expiry")
	}
	if f.watchCalls.Load() < 2 {
		t.Errorf("stream opened %d times, want re-opened after failing", f.watchCalls.Load())
	}
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
