package tokenbroker_test

// Tests against the real tokenbroker and ims-emulator binaries.

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenbroker/tokenbroker/client/go/tokenbroker"
)

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestAccessToken_ReturnsValidCachedToken(t *testing.T) {
	s := startStack(t, nil, client("c1", 0))
	s.createIntegration(t, "app", "c1", goodSecret, false)
	ctx := ctxFor(t, 20*time.Second)

	tok, err := s.client.AccessToken(ctx, "app")
	if err != nil {
		t.Fatalf("AccessToken: %v", err)
	}
	if tok.AccessToken == "" || !strings.EqualFold(tok.TokenType, "bearer") {
		t.Errorf("token = %q type %q, want a bearer token", tok.AccessToken, tok.TokenType)
	}
	if tok.Integration != "integrations/app" {
		t.Errorf("Integration = %q, want integrations/app", tok.Integration)
	}
	if !tok.ValidFor(23*time.Hour) || !tok.IssueTime.Before(tok.ExpireTime) {
		t.Errorf("issue %v expire %v: want a 24 h token valid now", tok.IssueTime, tok.ExpireTime)
	}
	if strings.Contains(tok.String(), tok.AccessToken) {
		t.Errorf("Token.String() reveals the token")
	}
	again, err := s.client.AccessToken(ctx, "integrations/app")
	if err != nil {
		t.Fatalf("second AccessToken: %v", err)
	}
	if again.AccessToken != tok.AccessToken {
		t.Errorf("second call returned another token; want the broker's cached one")
	}
	if n := s.ims.stats(t).Exchanges["c1"]; n != 1 {
		t.Errorf("IMS exchanges = %d, want 1", n)
	}
}

func TestRequestHeaders_ReturnsAdobeHeaders(t *testing.T) {
	s := startStack(t, nil, client("c1", 0))
	s.createIntegration(t, "aep", "c1", goodSecret, true)
	ctx := ctxFor(t, 20*time.Second)

	h, expire, err := s.client.RequestHeaders(ctx, "aep")
	if err != nil {
		t.Fatalf("RequestHeaders: %v", err)
	}
	tok, err := s.client.AccessToken(ctx, "aep")
	if err != nil {
		t.Fatalf("AccessToken: %v", err)
	}
	want := map[string]string{"Authorization": "Bearer " + tok.AccessToken, "X-Api-Key": "c1",
		"X-Gw-Ims-Org-Id": orgID}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if !expire.Equal(tok.ExpireTime) {
		t.Errorf("expire_time %v, want the token's %v", expire, tok.ExpireTime)
	}

	ts := s.client.TokenSource("aep")
	defer ts.Close()
	th, err := ts.Headers(ctx)
	if err != nil {
		t.Fatalf("TokenSource.Headers: %v", err)
	}
	for k, v := range want {
		if got := th.Get(k); got != v {
			t.Errorf("TokenSource header %s = %q, want %q", k, got, v)
		}
	}
}

func TestTransport_AddsAdobeHeadersToRequests(t *testing.T) {
	s := startStack(t, nil, client("c1", 0))
	s.createIntegration(t, "api", "c1", goodSecret, true)
	ctx := ctxFor(t, 20*time.Second)

	var got http.Header
	adobe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer adobe.Close()

	ts := s.client.TokenSource("api")
	defer ts.Close()
	hc := &http.Client{Transport: &tokenbroker.Transport{Source: ts}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, adobe.URL+"/data/foundation/catalog/dataSets", nil)
	req.Header.Set("Authorization", "Bearer stale")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("GET through Transport: %v", err)
	}
	resp.Body.Close()

	tok, err := ts.AccessToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"Authorization": "Bearer " + tok.AccessToken,
		"X-Api-Key": "c1", "X-Gw-Ims-Org-Id": orgID, "Accept": "application/json"} {
		if g := got.Get(k); g != v {
			t.Errorf("server saw %s = %q, want %q", k, g, v)
		}
	}
	if len(got.Values("Authorization")) != 1 {
		t.Errorf("server saw Authorization %q, want exactly one", got.Values("Authorization"))
	}
	if req.Header.Get("Authorization") != "Bearer stale" {
		t.Errorf("Transport modified the caller's request")
	}
}

// A 3 s token is rotated by the broker at ~2 s and pushed on the stream: the source hands
// out each successor before its predecessor expires and never an expired token.
func TestTokenSource_FollowsRotationOnStream(t *testing.T) {
	testRotation(t)
}

// Without the stream, the source asks for the successor itself before expiry.
func TestTokenSource_WithoutWatch_RefreshesBeforeExpiry(t *testing.T) {
	testRotation(t, tokenbroker.WithoutWatch())
}

func testRotation(t *testing.T, opts ...tokenbroker.TokenSourceOption) {
	t.Parallel() // mostly waiting for tokens to age
	s := startStack(t, nil, client("short", 3))
	s.createIntegration(t, "short", "short", goodSecret, false)
	ts := s.client.TokenSource("short", opts...)
	defer ts.Close()
	ctx := ctxFor(t, 30*time.Second)

	type seen struct {
		tok   *tokenbroker.Token
		first time.Time
	}
	var order []seen
	var slowest time.Duration
	// Polls until the third token is handed out: two rotations, each checked on the way.
	deadline := time.Now().Add(10 * time.Second)
	for len(order) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("saw %d distinct tokens in 10 s of 3 s tokens, want >= 3", len(order))
		}
		start := time.Now()
		tok, err := ts.AccessToken(ctx)
		if err != nil {
			t.Fatalf("AccessToken: %v", err)
		}
		now := time.Now()
		slowest = max(slowest, now.Sub(start))
		if !tok.ExpireTime.After(now) {
			t.Fatalf("got a token that expired at %v (now %v)", tok.ExpireTime, now)
		}
		if len(order) == 0 || order[len(order)-1].tok.AccessToken != tok.AccessToken {
			order = append(order, seen{tok, now})
		}
		time.Sleep(20 * time.Millisecond) // the polling interval
	}
	for i := 1; i < len(order); i++ {
		prev, next := order[i-1], order[i]
		if !next.first.Before(prev.tok.ExpireTime) {
			t.Errorf("token %d first handed out at %v, after its predecessor expired at %v",
				i, next.first, prev.tok.ExpireTime)
		}
		if !next.tok.ExpireTime.After(prev.tok.ExpireTime) {
			t.Errorf("token %d expires %v, not after its predecessor (%v)", i,
				next.tok.ExpireTime, prev.tok.ExpireTime)
		}
	}
	// After the first fetch, every call is served from memory: successors arrive ahead.
	t.Logf("%d tokens, slowest call %v, IMS exchanges %d", len(order), slowest,
		s.ims.stats(t).Exchanges["short"])
	if n := s.ims.stats(t).Exchanges["short"]; n > len(order)+1 {
		t.Errorf("IMS exchanges = %d for %d tokens: more than one per rotation", n, len(order))
	}
}

func TestTokenSource_IsAnOAuth2TokenSource(t *testing.T) {
	s := startStack(t, nil, client("c1", 0))
	s.createIntegration(t, "app", "c1", goodSecret, false)
	ts := s.client.TokenSource("app")
	defer ts.Close()
	var src oauth2.TokenSource = ts
	tok, err := src.Token()
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if !tok.Valid() || tok.Type() != "Bearer" {
		t.Errorf("oauth2 token valid=%v type=%q, want a valid Bearer token", tok.Valid(), tok.Type())
	}
}

func TestTokenSource_ConcurrentColdCallers_ShareOneToken(t *testing.T) {
	s := startStack(t, nil, client("c1", 0))
	s.createIntegration(t, "app", "c1", goodSecret, false)
	ts := s.client.TokenSource("app")
	defer ts.Close()
	ctx := ctxFor(t, 20*time.Second)
	var wg sync.WaitGroup
	tokens := make([]string, 50)
	errs := make([]error, 50)
	for i := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := ts.AccessToken(ctx)
			errs[i] = err
			if err == nil {
				tokens[i] = tok.AccessToken
			}
		}()
	}
	wg.Wait()
	for i := range tokens {
		if errs[i] != nil || tokens[i] != tokens[0] {
			t.Fatalf("caller %d: err %v, same token %v", i, errs[i], tokens[i] == tokens[0])
		}
	}
	if n := s.ims.stats(t).Exchanges["c1"]; n != 1 {
		t.Errorf("IMS exchanges = %d, want 1", n)
	}
}

func TestAccessToken_UnknownIntegration_NotFound(t *testing.T) {
	s := startStack(t, nil, client("c1", 0))
	_, err := s.client.AccessToken(ctxFor(t, 20*time.Second), "nope")
	e := requireError(t, err, codes.NotFound)
	if !errors.Is(err, tokenbroker.ErrNotFound) {
		t.Errorf("errors.Is(err, ErrNotFound) = false")
	}
	if e.Reason != tokenbroker.ReasonIntegrationNotFound || e.Domain != tokenbroker.ErrorDomain {
		t.Errorf("reason %q domain %q, want %s in %s", e.Reason, e.Domain,
			tokenbroker.ReasonIntegrationNotFound, tokenbroker.ErrorDomain)
	}

	// The token source reports the same error.
	ts := s.client.TokenSource("nope")
	defer ts.Close()
	if _, err := ts.AccessToken(ctxFor(t, 20*time.Second)); !errors.Is(err, tokenbroker.ErrNotFound) {
		t.Errorf("TokenSource.AccessToken: %v, want NOT_FOUND", err)
	}
}

func TestAccessToken_SecretRejectedByIMS_FailedPreconditionWithIMSDetails(t *testing.T) {
	s := startStack(t, nil, client("c1", 0))
	s.createIntegration(t, "wrong", "c1", "not-the-secret", false)
	_, err := s.client.AccessToken(ctxFor(t, 20*time.Second), "wrong")
	e := requireError(t, err, codes.FailedPrecondition)
	if e.Reason != tokenbroker.ReasonIMSRejected {
		t.Errorf("Reason = %q, want %s", e.Reason, tokenbroker.ReasonIMSRejected)
	}
	if e.IMSError != "invalid_client" {
		t.Errorf("IMSError = %q, want invalid_client", e.IMSError)
	}
	if e.XDebugID == "" {
		t.Errorf("XDebugID is empty; metadata %v", e.Metadata)
	}
	if e.HTTPStatus != http.StatusUnauthorized {
		t.Errorf("HTTPStatus = %d, want 401", e.HTTPStatus)
	}
	if strings.Contains(err.Error(), "not-the-secret") {
		t.Errorf("error reveals the secret: %v", err)
	}
	if !strings.Contains(err.Error(), "ims_error=invalid_client") ||
		!strings.Contains(err.Error(), "x_debug_id="+e.XDebugID) {
		t.Errorf("Error() = %q, want ims_error and x_debug_id in it", err.Error())
	}
	if status.Code(err) != codes.FailedPrecondition {
		t.Errorf("status.Code(err) = %v, want FailedPrecondition", status.Code(err))
	}
}

// IMS down and nothing cached: UNAVAILABLE, retried by the SDK (each retry is one more
// request to IMS, since the broker makes one attempt).
func TestAccessToken_IMSDown_UnavailableAfterRetries(t *testing.T) {
	s := startStack(t, []string{"--ims-max-attempts=1"}, client("c1", 0))
	s.createIntegration(t, "app", "c1", goodSecret, false)
	s.ims.setFaults(t, `{"down":true}`)
	c, err := tokenbroker.New(s.broker.addr, tokenbroker.WithPlaintext(),
		tokenbroker.WithRetry(tokenbroker.RetryPolicy{MaxAttempts: 3,
			InitialBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Multiplier: 2}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	start := time.Now()
	_, err = c.AccessToken(ctxFor(t, 20*time.Second), "app")
	e := requireError(t, err, codes.Unavailable)
	if !errors.Is(err, tokenbroker.ErrUnavailable) || !e.Temporary() {
		t.Errorf("errors.Is(ErrUnavailable) = %v, Temporary = %v, want both true",
			errors.Is(err, tokenbroker.ErrUnavailable), e.Temporary())
	}
	if e.Reason != tokenbroker.ReasonIMSUnavailable {
		t.Errorf("Reason = %q, want %s", e.Reason, tokenbroker.ReasonIMSUnavailable)
	}
	if n := s.ims.stats(t).FaultsInjected; n != 3 {
		t.Errorf("IMS saw %d token requests, want 3 (one per SDK attempt)", n)
	}
	t.Logf("UNAVAILABLE after %v (details: %v)", time.Since(start), e)

	// IMS back: the same client gets a token.
	s.ims.setFaults(t, `{}`)
	if _, err := c.AccessToken(ctxFor(t, 20*time.Second), "app"); err != nil {
		t.Errorf("after IMS recovered: %v", err)
	}
}

func TestAccessToken_BadName_InvalidArgumentNamingField(t *testing.T) {
	s := startStack(t, nil, client("c1", 0))
	_, err := s.client.AccessToken(ctxFor(t, 20*time.Second), "integrations/Not_Valid")
	e := requireError(t, err, codes.InvalidArgument)
	if e.Field != "name" {
		t.Errorf("Field = %q, want name (reason %q, bad request %v)", e.Field, e.Reason, e.BadRequest)
	}
}

func TestClient_ServerDown_UnavailableWithinDeadline(t *testing.T) {
	// A port that was free a moment ago: nothing listens there.
	s := startStack(t, nil, client("c1", 0))
	addr := s.broker.addr
	s.broker.stop()
	c, err := tokenbroker.New(addr, tokenbroker.WithPlaintext(), tokenbroker.WithCallTimeout(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_, err = c.AccessToken(context.Background(), "app")
	if !errors.Is(err, tokenbroker.ErrUnavailable) {
		t.Fatalf("err = %v, want UNAVAILABLE", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v, want the default retries to finish well within the 3 s timeout", d)
	}
}

func TestTLS_ServerCertificateVerifiedWithCAFile(t *testing.T) {
	p := newTestPKI(t)
	ims := startEmulator(t, client("c1", 0))
	b := startBroker(t, ims, "--tls-cert="+p.serverCert, "--tls-key="+p.serverKey)
	ctx := ctxFor(t, 20*time.Second)

	c, err := tokenbroker.New(b.addr, tokenbroker.WithTLS(p.caFile))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := &stack{ims: ims, broker: b, client: c}
	s.createIntegration(t, "app", "c1", goodSecret, false)
	if _, err := c.AccessToken(ctx, "app"); err != nil {
		t.Fatalf("AccessToken over TLS: %v", err)
	}

	// A CA that did not sign the server's certificate is refused.
	other, err := tokenbroker.New(b.addr, tokenbroker.WithTLS(p.otherCAFile), tokenbroker.WithoutRetry())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.AccessToken(ctx, "app"); !errors.Is(err, tokenbroker.ErrUnavailable) {
		t.Errorf("with an unrelated CA: %v, want UNAVAILABLE (handshake failure)", err)
	}
	// Plaintext against a TLS-only server fails.
	plain, err := tokenbroker.New(b.addr, tokenbroker.WithPlaintext(), tokenbroker.WithoutRetry(),
		tokenbroker.WithCallTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, err := plain.AccessToken(ctx, "app"); err == nil {
		t.Errorf("plaintext call to a TLS-only server succeeded")
	}
}

func TestMTLS_ClientCertificateRequired(t *testing.T) {
	p := newTestPKI(t)
	ims := startEmulator(t, client("c1", 0))
	b := startBroker(t, ims, "--tls-cert="+p.serverCert, "--tls-key="+p.serverKey,
		"--client-ca-file="+p.caFile)
	ctx := ctxFor(t, 20*time.Second)

	c, err := tokenbroker.New(b.addr, tokenbroker.WithTLS(p.caFile),
		tokenbroker.WithClientCertificate(p.clientCert, p.clientKey))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := &stack{ims: ims, broker: b, client: c}
	s.createIntegration(t, "app", "c1", goodSecret, false)
	if _, err := c.AccessToken(ctx, "app"); err != nil {
		t.Fatalf("AccessToken over mutual TLS: %v", err)
	}

	noCert, err := tokenbroker.New(b.addr, tokenbroker.WithTLS(p.caFile), tokenbroker.WithoutRetry())
	if err != nil {
		t.Fatal(err)
	}
	defer noCert.Close()
	if _, err := noCert.AccessToken(ctx, "app"); err == nil {
		t.Errorf("call without a client certificate succeeded against a mutual-TLS server")
	}
}

func TestCallerToken_AuthorizedByServerPolicy(t *testing.T) {
	const adminToken, readerToken = "admin-0123456789abcdef0123456789abcdef", "reader-0123456789abcdef0123456789abcd"
	policy := fmt.Sprintf(`{"version": 1,
	  "caller_tokens": [{"identity": "ops", "hash": %q}, {"identity": "svc-app", "hash": %q}],
	  "bindings": [{"identity": "ops", "role": "admin"},
	               {"identity": "svc-app", "role": "reader", "integrations": ["app"]}]}`,
		policyHash(adminToken), policyHash(readerToken))
	policyFile := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(policyFile, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	ims := startEmulator(t, client("c1", 0))
	b := startBroker(t, ims, "--policy-file="+policyFile)
	ctx := ctxFor(t, 20*time.Second)
	connect := func(opts ...tokenbroker.Option) *tokenbroker.Client {
		c, err := tokenbroker.New(b.addr, append(opts, tokenbroker.WithPlaintext())...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	admin := &stack{ims: ims, broker: b, client: connect(tokenbroker.WithCallerToken(adminToken))}
	admin.createIntegration(t, "app", "c1", goodSecret, false)
	admin.createIntegration(t, "other", "c1", goodSecret, false)

	readerFile := filepath.Join(t.TempDir(), "caller-token")
	if err := os.WriteFile(readerFile, []byte(readerToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reader := connect(tokenbroker.WithCallerTokenFile(readerFile))
	if _, err := reader.AccessToken(ctx, "app"); err != nil {
		t.Errorf("reader, own integration: %v", err)
	}
	_, err := reader.AccessToken(ctx, "other")
	requireError(t, err, codes.PermissionDenied)
	_, err = connect().AccessToken(ctx, "app")
	requireError(t, err, codes.Unauthenticated)
	_, err = connect(tokenbroker.WithCallerToken("not-a-known-token")).AccessToken(ctx, "app")
	requireError(t, err, codes.Unauthenticated)
}

// policyHash is the policy file's form of a caller token:
// hmac-sha256:<salt hex>:<HMAC-SHA256(key=salt, token) hex>.
func policyHash(token string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	m := hmac.New(sha256.New, salt)
	m.Write([]byte(token))
	return "hmac-sha256:" + hex.EncodeToString(salt) + ":" + hex.EncodeToString(m.Sum(nil))
}

// requireError checks that err is an *Error with code want and returns it.
func requireError(t *testing.T, err error, want codes.Code) *tokenbroker.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %v", want)
	}
	var e *tokenbroker.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %T %v, want a *tokenbroker.Error", err, err)
	}
	if e.Code != want {
		t.Fatalf("code = %v (%v), want %v", e.Code, err, want)
	}
	return e
}
