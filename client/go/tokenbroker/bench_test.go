package tokenbroker_test

// Throughput of ONE goroutine through the SDK against a local broker whose token is
// cached (run: go test ./tokenbroker -run '^$' -bench . -benchtime 5s). Not part of test.sh.

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	pb "github.com/tokenbroker/tokenbroker/client/go/tokenbrokerv1"
)

func benchStack(b *testing.B) *stack {
	s := startStack(b, []string{"--log-level=error"}, client("c1", 0))
	s.createIntegration(b, "app", "c1", goodSecret, true)
	if _, err := s.client.AccessToken(context.Background(), "app"); err != nil { // warm the cache
		b.Fatal(err)
	}
	return s
}

// One GetAccessToken RPC per call: the broker's cache, over loopback, plaintext.
func BenchmarkClient_AccessToken_OneGoroutine(b *testing.B) {
	s := benchStack(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.client.AccessToken(ctx, "app"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

// One GetRequestHeaders RPC per call.
func BenchmarkClient_RequestHeaders_OneGoroutine(b *testing.B) {
	s := benchStack(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := s.client.RequestHeaders(ctx, "app"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

// The TokenSource's memory: no RPC per call.
func BenchmarkTokenSource_AccessToken_OneGoroutine(b *testing.B) {
	s := benchStack(b)
	ts := s.client.TokenSource("app")
	defer ts.Close()
	ctx := context.Background()
	if _, err := ts.AccessToken(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ts.AccessToken(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

// The generated stub on a bare connection, for comparison: the SDK's own cost per call is
// the difference with BenchmarkClient_AccessToken_OneGoroutine.
func BenchmarkRawStub_GetAccessToken_OneGoroutine(b *testing.B) {
	s := benchStack(b)
	stub := bareStub(b, s)
	ctx := context.Background()
	req := &pb.GetAccessTokenRequest{Name: "integrations/app"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := stub.GetAccessToken(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

// The SDK's cost per cached GetAccessToken call against the bare generated stub, measured in
// one run (client/go/overhead.sh): one goroutine each, the same broker, each side on its own
// plaintext connection, after a warm-up, in alternating rounds so that the machine's load
// falls on both alike. Run once: go test -run '^$' -bench '^BenchmarkOverhead$' -benchtime 1x.
func BenchmarkOverhead(b *testing.B) {
	s := benchStack(b)
	stub := bareStub(b, s)
	ctx := context.Background()
	req := &pb.GetAccessTokenRequest{Name: "integrations/app"}
	sdkCall := func() error { _, err := s.client.AccessToken(ctx, "app"); return err }
	stubCall := func() error { _, err := stub.GetAccessToken(ctx, req); return err }

	const rounds, round, warmUp = 20, 400 * time.Millisecond, 2 * time.Second
	timeCalls(b, sdkCall, warmUp)
	timeCalls(b, stubCall, warmUp)
	var sdkN, stubN int
	var sdkT, stubT time.Duration
	for i := 0; i < rounds; i++ {
		n, d := timeCalls(b, sdkCall, round)
		sdkN, sdkT = sdkN+n, sdkT+d
		n, d = timeCalls(b, stubCall, round)
		stubN, stubT = stubN+n, stubT+d
	}
	perSDK, perStub := sdkT.Seconds()/float64(sdkN), stubT.Seconds()/float64(stubN)
	b.ReportMetric(1/perSDK, "sdk-calls/s")
	b.ReportMetric(1/perStub, "stub-calls/s")
	b.ReportMetric(100*(perSDK-perStub)/perStub, "overhead-%")
}

// bareStub is the generated TokenService stub on a plaintext connection of its own to the
// stack's broker, closed when the benchmark ends.
func bareStub(b *testing.B, s *stack) pb.TokenServiceClient {
	conn, err := grpc.NewClient(s.broker.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	return pb.NewTokenServiceClient(conn)
}

// timeCalls calls f for about d and returns the number of calls and the time they took.
func timeCalls(b *testing.B, f func() error, d time.Duration) (int, time.Duration) {
	start := time.Now()
	n := 0
	for time.Since(start) < d {
		for i := 0; i < 100; i++ {
			if err := f(); err != nil {
				b.Fatal(err)
			}
		}
		n += 100
	}
	return n, time.Since(start)
}
