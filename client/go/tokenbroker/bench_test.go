package tokenbroker_test

// Throughput of ONE goroutine through the SDK against a local broker whose token is
// cached (run: go test ./tokenbroker -run '^$' -bench . -benchtime 5s). Not part of test.sh.

import (
	"context"
	"testing"

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
	conn, err := grpc.NewClient(s.broker.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	stub := pb.NewTokenServiceClient(conn)
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
