package tokenbroker

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/tokenbroker/tokenbroker/client/go/tokenbrokerv1"
)

// Version is this SDK's version, sent in the gRPC user agent.
const Version = "0.1.0"

// Client is a connection to a tokenbroker server. It is safe for concurrent use; create one
// per server and share it. Close it when done.
type Client struct {
	conn         *grpc.ClientConn
	tokens       pb.TokenServiceClient
	integrations pb.IntegrationServiceClient
	opts         options // as resolved by New
}

// New connects to the tokenbroker server at target ("host:port", or any gRPC target such as
// "dns:///tokenbroker.svc:50051" or "unix:///run/tokenbroker.sock"). Connecting is lazy:
// New fails only on bad options (unreadable CA, certificate or token file), never because
// the server is down. Security defaults to TLS verified with the system's CAs; use
// WithPlaintext for a loopback broker.
func New(target string, opts ...Option) (*Client, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	dial := []grpc.DialOption{
		grpc.WithUserAgent("tokenbroker-go/" + Version),
		grpc.WithChainUnaryInterceptor(unaryInterceptor(o.callTimeout, o.retry)),
		grpc.WithChainStreamInterceptor(errorStreamInterceptor),
	}
	if o.security == securityPlaintext {
		dial = append(dial, grpc.WithTransportCredentials(insecure.NewCredentials()))
	} else {
		cfg, err := tlsConfig(&o)
		if err != nil {
			return nil, err
		}
		dial = append(dial, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	}
	if o.callerToken != "" || o.callerTokenFile != "" {
		creds, err := newCallerCredentials(&o)
		if err != nil {
			return nil, err
		}
		dial = append(dial, grpc.WithPerRPCCredentials(creds))
	}
	dial = append(dial, o.dialOptions...)
	conn, err := grpc.NewClient(target, dial...)
	if err != nil {
		return nil, fmt.Errorf("tokenbroker: %w", err)
	}
	return &Client{conn: conn, tokens: pb.NewTokenServiceClient(conn),
		integrations: pb.NewIntegrationServiceClient(conn), opts: o}, nil
}

// Close closes the connection. Token sources of this Client stop working; Close them first.
func (c *Client) Close() error { return c.conn.Close() }

// Conn returns the underlying connection, e.g. for a health check client.
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// TokenService returns the generated TokenService stub on this connection (with this
// Client's timeouts, retries, caller token and *Error errors): the escape hatch for what the
// Client's methods do not cover.
func (c *Client) TokenService() pb.TokenServiceClient { return c.tokens }

// IntegrationService returns the generated IntegrationService stub on this connection, with
// the same timeouts, retries, caller token and *Error errors as the Client's methods
// (CreateIntegration, GetIntegration, ...): the escape hatch for request fields those methods
// do not take.
func (c *Client) IntegrationService() pb.IntegrationServiceClient { return c.integrations }

// IntegrationName returns the resource name of an integration: "integrations/" + id. A
// name that already has the prefix is returned as is, so every method of this package
// accepts either.
func IntegrationName(idOrName string) string {
	if strings.HasPrefix(idOrName, "integrations/") {
		return idOrName
	}
	return "integrations/" + idOrName
}

// Token is an Adobe IMS access token. Its String method hides the token, so that logging a
// *Token does not leak it.
type Token struct {
	AccessToken string    // the bearer token; a secret
	TokenType   string    // "bearer"
	IssueTime   time.Time // when IMS issued it
	ExpireTime  time.Time // when it stops being valid
	Integration string    // "integrations/{id}"
}

func tokenFromProto(t *pb.AccessToken) *Token {
	return &Token{
		AccessToken: t.GetAccessToken(),
		TokenType:   t.GetTokenType(),
		IssueTime:   t.GetIssueTime().AsTime(),
		ExpireTime:  t.GetExpireTime().AsTime(),
		Integration: t.GetIntegration(),
	}
}

// ValidFor reports whether the token is still valid d from now.
func (t *Token) ValidFor(d time.Duration) bool {
	return t != nil && t.AccessToken != "" && time.Until(t.ExpireTime) > d
}

// String describes the token without revealing it.
func (t *Token) String() string {
	if t == nil {
		return "<nil>"
	}
	return fmt.Sprintf("Token{%s, expires %s, access_token: REDACTED}", t.Integration,
		t.ExpireTime.Format(time.RFC3339))
}

// GoString is String, for %#v.
func (t *Token) GoString() string { return t.String() }

// OAuth2 returns the token as a golang.org/x/oauth2 token.
func (t *Token) OAuth2() *oauth2.Token {
	return &oauth2.Token{AccessToken: t.AccessToken, TokenType: "Bearer", Expiry: t.ExpireTime}
}

// RequestOption adjusts one token or headers request.
type RequestOption func(*requestOptions)

type requestOptions struct{ minValidity time.Duration }

// MinValidity asks for a token that stays valid at least d more (default: the server's
// --min-validity, 60 s, capped at a tenth of the token's lifetime). At most 12 h. The
// server mints a new token when its cached one is too close to expiry.
func MinValidity(d time.Duration) RequestOption {
	return func(r *requestOptions) { r.minValidity = d }
}

func minValidityProto(opts []RequestOption) *durationpb.Duration {
	var r requestOptions
	for _, o := range opts {
		o(&r)
	}
	if r.minValidity <= 0 {
		return nil
	}
	return durationpb.New(r.minValidity)
}

// AccessToken returns a valid access token of the integration (an id or
// "integrations/{id}"), from the broker's cache, making one call to the broker. For a
// process that needs the token repeatedly, a TokenSource avoids even that call.
// Errors (*Error): INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION (disabled, or IMS
// rejected the credentials: see IMSError, XDebugID), UNAVAILABLE, DEADLINE_EXCEEDED.
func (c *Client) AccessToken(ctx context.Context, integration string, opts ...RequestOption) (*Token, error) {
	resp, err := c.tokens.GetAccessToken(ctx, &pb.GetAccessTokenRequest{
		Name: IntegrationName(integration), MinRemainingValidity: minValidityProto(opts)})
	if err != nil {
		return nil, err
	}
	return tokenFromProto(resp.GetToken()), nil
}

// RequestHeaders returns the HTTP headers an Adobe API call needs (Authorization,
// X-Api-Key, and X-Gw-Ims-Org-Id / X-Sandbox-Name where configured) and when the token in
// them expires. Errors: as AccessToken.
func (c *Client) RequestHeaders(ctx context.Context, integration string, opts ...RequestOption) (http.Header, time.Time, error) {
	resp, err := c.tokens.GetRequestHeaders(ctx, &pb.GetRequestHeadersRequest{
		Name: IntegrationName(integration), MinRemainingValidity: minValidityProto(opts)})
	if err != nil {
		return nil, time.Time{}, err
	}
	h := make(http.Header, len(resp.GetHeaders()))
	for _, kv := range resp.GetHeaders() {
		h.Add(kv.GetName(), kv.GetValue())
	}
	return h, resp.GetExpireTime().AsTime(), nil
}

// RefreshAccessToken makes the broker mint a new token now, whatever it has cached, and
// returns it. Use it when an Adobe API rejected a token that should still be valid (e.g.
// after revocation); it costs an IMS exchange. Errors: as AccessToken.
func (c *Client) RefreshAccessToken(ctx context.Context, integration string) (*Token, error) {
	resp, err := c.tokens.RefreshAccessToken(ctx, &pb.RefreshAccessTokenRequest{
		Name: IntegrationName(integration)})
	if err != nil {
		return nil, err
	}
	return tokenFromProto(resp.GetToken()), nil
}
