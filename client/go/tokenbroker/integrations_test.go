package tokenbroker_test

// The Client's IntegrationService methods against an in-process fake: the same deadline,
// caller token, retries (UNAVAILABLE only; mutations never) and errors as the token calls.

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tokenbroker/tokenbroker/client/go/tokenbroker"
	pb "github.com/tokenbroker/tokenbroker/client/go/tokenbrokerv1"
)

// fakeIntegrations answers each method's first call with firstErr, later ones with success,
// and records the names and caller tokens it was sent.
type fakeIntegrations struct {
	pb.UnimplementedIntegrationServiceServer
	firstErr error
	hang     bool // block until the call's deadline instead

	mu    sync.Mutex
	calls map[string]int
	names map[string]string // the last name (or id, page token) each method was sent
	auth  []string
}

func (f *fakeIntegrations) answer(ctx context.Context, method, name string) error {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	f.calls[method]++
	n := f.calls[method]
	f.names[method] = name
	f.auth = append(f.auth, md.Get("authorization")...)
	f.mu.Unlock()
	if f.hang {
		<-ctx.Done()
		return ctx.Err()
	}
	if n == 1 {
		return f.firstErr
	}
	return nil
}

func (f *fakeIntegrations) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

func stored(name string) *pb.Integration { return &pb.Integration{Name: name} }

func (f *fakeIntegrations) CreateIntegration(ctx context.Context, r *pb.CreateIntegrationRequest) (*pb.CreateIntegrationResponse, error) {
	return &pb.CreateIntegrationResponse{Integration: stored("integrations/" + r.GetIntegrationId())},
		f.answer(ctx, "Create", r.GetIntegrationId())
}

func (f *fakeIntegrations) GetIntegration(ctx context.Context, r *pb.GetIntegrationRequest) (*pb.GetIntegrationResponse, error) {
	return &pb.GetIntegrationResponse{Integration: stored(r.GetName())}, f.answer(ctx, "Get", r.GetName())
}

func (f *fakeIntegrations) ListIntegrations(ctx context.Context, r *pb.ListIntegrationsRequest) (*pb.ListIntegrationsResponse, error) {
	return &pb.ListIntegrationsResponse{Integrations: []*pb.Integration{stored("integrations/a")},
		NextPageToken: "next"}, f.answer(ctx, "List", r.GetPageToken())
}

func (f *fakeIntegrations) UpdateIntegration(ctx context.Context, r *pb.UpdateIntegrationRequest) (*pb.UpdateIntegrationResponse, error) {
	return &pb.UpdateIntegrationResponse{Integration: r.GetIntegration()},
		f.answer(ctx, "Update", r.GetIntegration().GetName())
}

func (f *fakeIntegrations) DeleteIntegration(ctx context.Context, r *pb.DeleteIntegrationRequest) (*pb.DeleteIntegrationResponse, error) {
	return &pb.DeleteIntegrationResponse{}, f.answer(ctx, "Delete", r.GetName())
}

func (f *fakeIntegrations) ImportIntegrations(ctx context.Context, r *pb.ImportIntegrationsRequest) (*pb.ImportIntegrationsResponse, error) {
	return &pb.ImportIntegrationsResponse{}, f.answer(ctx, "Import", r.GetIntegrationId())
}

func (f *fakeIntegrations) ListClientSecrets(ctx context.Context, r *pb.ListClientSecretsRequest) (*pb.ListClientSecretsResponse, error) {
	return &pb.ListClientSecretsResponse{}, f.answer(ctx, "ListClientSecrets", r.GetParent())
}

func (f *fakeIntegrations) RotateClientSecret(ctx context.Context, r *pb.RotateClientSecretRequest) (*pb.RotateClientSecretResponse, error) {
	return &pb.RotateClientSecretResponse{State: pb.RotateClientSecretResponse_STATE_DONE},
		f.answer(ctx, "Rotate", r.GetParent())
}

func (f *fakeIntegrations) MigrateIntegration(ctx context.Context, r *pb.MigrateIntegrationRequest) (*pb.MigrateIntegrationResponse, error) {
	return &pb.MigrateIntegrationResponse{Integration: stored(r.GetName())}, f.answer(ctx, "Migrate", r.GetName())
}

func startFakeIntegrations(t *testing.T, f *fakeIntegrations) string {
	t.Helper()
	f.calls, f.names = map[string]int{}, map[string]string{}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	pb.RegisterIntegrationServiceServer(srv, f)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// integrationCall is one Client method, called with the id "app".
type integrationCall struct {
	method string
	call   func(context.Context, *tokenbroker.Client) error
}

var integrationCalls = []integrationCall{
	{"Create", func(ctx context.Context, c *tokenbroker.Client) error {
		_, err := c.CreateIntegration(ctx, "app", &pb.Integration{})
		return err
	}},
	{"Get", func(ctx context.Context, c *tokenbroker.Client) error {
		_, err := c.GetIntegration(ctx, "app")
		return err
	}},
	{"List", func(ctx context.Context, c *tokenbroker.Client) error {
		_, _, err := c.ListIntegrations(ctx, 0, "")
		return err
	}},
	{"Update", func(ctx context.Context, c *tokenbroker.Client) error {
		_, err := c.UpdateIntegration(ctx, &pb.Integration{Name: "app"}, "display_name")
		return err
	}},
	{"Delete", func(ctx context.Context, c *tokenbroker.Client) error {
		return c.DeleteIntegration(ctx, "app", "")
	}},
	{"Import", func(ctx context.Context, c *tokenbroker.Client) error {
		_, err := c.ImportIntegrations(ctx, &pb.ImportIntegrationsRequest{IntegrationId: "app"})
		return err
	}},
	{"ListClientSecrets", func(ctx context.Context, c *tokenbroker.Client) error {
		_, err := c.ListClientSecrets(ctx, "app")
		return err
	}},
	{"Rotate", func(ctx context.Context, c *tokenbroker.Client) error {
		_, err := c.RotateClientSecret(ctx, "app", false)
		return err
	}},
	{"Migrate", func(ctx context.Context, c *tokenbroker.Client) error {
		_, err := c.MigrateIntegration(ctx, &pb.MigrateIntegrationRequest{Name: "app"})
		return err
	}},
}

// Calls a second attempt would not repeat faithfully are made once.
var notRetried = map[string]bool{"Create": true, "Update": true, "Delete": true, "Import": true, "Migrate": true}

func TestIntegrationCalls_UnavailableRetriedExceptMutations(t *testing.T) {
	f := &fakeIntegrations{firstErr: status.Error(codes.Unavailable, "draining")}
	c := newClient(t, startFakeIntegrations(t, f), tokenbroker.WithRetry(fastRetry),
		tokenbroker.WithCallerToken("caller"))
	for _, ic := range integrationCalls {
		err := ic.call(context.Background(), c)
		if notRetried[ic.method] {
			requireError(t, err, codes.Unavailable)
			if !errors.Is(err, tokenbroker.ErrUnavailable) {
				t.Errorf("%s: errors.Is(err, ErrUnavailable) false for %v", ic.method, err)
			}
			if n := f.count(ic.method); n != 1 {
				t.Errorf("%s: %d calls, want 1 (never retried)", ic.method, n)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v, want success on the retry", ic.method, err)
		}
		if n := f.count(ic.method); n != 2 {
			t.Errorf("%s: %d calls, want 2 (UNAVAILABLE retried once)", ic.method, n)
		}
	}
	for method, name := range f.names {
		want := map[string]string{"Create": "app", "Import": "app", "List": ""}[method]
		if want == "" && method != "List" {
			want = "integrations/app" // an id is sent as the resource name
		}
		if name != want {
			t.Errorf("%s sent %q, want %q", method, name, want)
		}
	}
	for _, a := range f.auth {
		if a != "Bearer caller" {
			t.Errorf("authorization %q, want the caller token on every call", a)
		}
	}
	calls := 0
	for _, n := range f.calls {
		calls += n
	}
	if len(f.auth) != calls {
		t.Errorf("%d calls carried a caller token, want all %d", len(f.auth), calls)
	}
}

func TestIntegrationCalls_OtherCodesTypedAndNotRetried(t *testing.T) {
	f := &fakeIntegrations{firstErr: status.Error(codes.NotFound, "no such integration")}
	c := newClient(t, startFakeIntegrations(t, f), tokenbroker.WithRetry(fastRetry))
	for _, ic := range integrationCalls {
		err := ic.call(context.Background(), c)
		requireError(t, err, codes.NotFound)
		if !errors.Is(err, tokenbroker.ErrNotFound) {
			t.Errorf("%s: errors.Is(err, ErrNotFound) false for %v", ic.method, err)
		}
		if n := f.count(ic.method); n != 1 {
			t.Errorf("%s: %d calls, want 1", ic.method, n)
		}
	}
}

func TestIntegrationCalls_BoundedByCallTimeout(t *testing.T) {
	f := &fakeIntegrations{hang: true}
	c := newClient(t, startFakeIntegrations(t, f), tokenbroker.WithCallTimeout(150*time.Millisecond))
	for _, ic := range integrationCalls {
		start := time.Now()
		err := ic.call(context.Background(), c)
		requireError(t, err, codes.DeadlineExceeded)
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s: took %v, want about the 150 ms call timeout", ic.method, d)
		}
	}
}
