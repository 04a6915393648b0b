package tokenbroker

import (
	"context"
	"io"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/tokenbroker/tokenbroker/client/go/tokenbrokerv1"
)

// RetryPolicy says how a unary call failing with UNAVAILABLE is retried (every other code is
// an answer and returned at once): up to MaxAttempts attempts in all, sleeping between them a
// random duration in [b/2, b], where b starts at InitialBackoff and is multiplied by
// Multiplier after each attempt, up to MaxBackoff. When the server sends a RetryInfo delay
// longer than that sleep, the sleep is the server's delay. A retry whose sleep would end at
// or past the call's deadline is not made: the last error (with its RetryDelay) is returned
// at once.
type RetryPolicy struct {
	MaxAttempts    int           // attempts in all, first included; < 2 disables retries
	InitialBackoff time.Duration // bound of the first sleep
	MaxBackoff     time.Duration // bound of every sleep
	Multiplier     float64       // growth of the bound per attempt; < 1 counts as 1
}

// DefaultRetryPolicy: 4 attempts, sleeps in [50, 100] ms, [100, 200] ms, [200, 400] ms (each
// nominal wait capped at 2 s), as in every tokenbroker SDK.
var DefaultRetryPolicy = RetryPolicy{
	MaxAttempts:    4,
	InitialBackoff: 100 * time.Millisecond,
	MaxBackoff:     2 * time.Second,
	Multiplier:     2,
}

// backoff returns the jittered sleep before attempt number attempt+1 (attempt >= 1).
func (p RetryPolicy) backoff(attempt int, serverDelay time.Duration) time.Duration {
	bound := float64(max(p.InitialBackoff, 0))
	mult := p.Multiplier
	if mult < 1 {
		mult = 1
	}
	for i := 1; i < attempt && bound < float64(p.MaxBackoff); i++ {
		bound *= mult
	}
	if bound > float64(p.MaxBackoff) {
		bound = float64(p.MaxBackoff)
	}
	half := int64(bound) / 2
	d := time.Duration(half + rand.Int64N(int64(bound)-half+1))
	if serverDelay > d {
		d = serverDelay
	}
	return d
}

// nonIdempotent lists the methods that are never retried: after a lost response, a second
// attempt would answer ALREADY_EXISTS, ABORTED or NOT_FOUND for a change that was made.
// RotateClientSecret is retried: the server resumes a rotation where it stopped.
var nonIdempotent = map[string]bool{
	pb.IntegrationService_CreateIntegration_FullMethodName:  true,
	pb.IntegrationService_UpdateIntegration_FullMethodName:  true,
	pb.IntegrationService_DeleteIntegration_FullMethodName:  true,
	pb.IntegrationService_ImportIntegrations_FullMethodName: true,
	pb.IntegrationService_MigrateIntegration_FullMethodName: true,
}

// unaryInterceptor is the Client's one interceptor of unary calls (one, not a chain of
// three: it runs on every call): it gives calls without a deadline one of timeout, retries
// UNAVAILABLE per p within that deadline, and turns every failure into an *Error.
func unaryInterceptor(timeout time.Duration, p RetryPolicy) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
		invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if _, ok := ctx.Deadline(); !ok && timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		err := invoker(ctx, method, req, reply, cc, opts...)
		if err != nil && p.MaxAttempts >= 2 && !nonIdempotent[method] {
			err = p.retry(ctx, err, func() error { return invoker(ctx, method, req, reply, cc, opts...) })
		}
		if err != nil {
			return FromError(err)
		}
		return nil
	}
}

// retry makes the further attempts of a call whose first attempt failed with err, while the
// error is UNAVAILABLE, attempts remain and the next wait ends before ctx's deadline. A retry
// that ctx's deadline ends returns the UNAVAILABLE it was made for, not DEADLINE_EXCEEDED.
func (p RetryPolicy) retry(ctx context.Context, err error, attempt func() error) error {
	for n := 1; err != nil && n < p.MaxAttempts && ctx.Err() == nil; n++ {
		st := status.Convert(err)
		if st.Code() != codes.Unavailable {
			return err
		}
		sleep := p.backoff(n, fromStatus(st).RetryDelay)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= sleep {
			return err
		}
		t := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		next := attempt()
		if status.Code(next) == codes.DeadlineExceeded && pastDeadline(ctx) {
			return err // the deadline ended the retry: the server's UNAVAILABLE says more
		}
		err = next
	}
	return err
}

// pastDeadline: ctx has a deadline and the clock has reached it. By the clock, not ctx.Err():
// the server's DEADLINE_EXCEEDED (its deadline is the same instant, from grpc-timeout) can
// arrive before ctx's own timer has run on a loaded machine.
func pastDeadline(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// errorStreamInterceptor does the same for streams (io.EOF, the normal end, passes as is).
func errorStreamInterceptor(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn,
	method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	s, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		return nil, FromError(err)
	}
	return errorStream{s}, nil
}

type errorStream struct{ grpc.ClientStream }

func (s errorStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err == nil || err == io.EOF {
		return err
	}
	return FromError(err)
}

func (s errorStream) SendMsg(m any) error {
	err := s.ClientStream.SendMsg(m)
	if err == nil || err == io.EOF {
		return err
	}
	return FromError(err)
}
