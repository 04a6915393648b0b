package tokenbroker

import (
	"context"
	"crypto/tls"
	"log/slog"
	"time"

	"google.golang.org/grpc"
)

// Option configures a Client; pass any number to New.
type Option func(*options)

type security int

const (
	securityDefault   security = iota // TLS with the system's CAs
	securityPlaintext                 // WithPlaintext
	securityTLS                       // WithTLS, WithClientCertificate, WithTLSConfig
)

type options struct {
	security          security
	caFile            string
	certFile          string
	keyFile           string
	tlsConfig         *tls.Config
	serverName        string
	callerToken       string
	callerTokenFile   string
	callerTokenReload time.Duration
	callTimeout       time.Duration
	retry             RetryPolicy
	logger            *slog.Logger
	dialOptions       []grpc.DialOption
}

// The defaults of a Client made with no options (client/BEHAVIOUR.md, the same in every
// tokenbroker SDK): TLS verified with the system's CAs, DefaultRetryPolicy, and these.
const (
	// DefaultCallTimeout bounds every unary call, retries included (WithCallTimeout).
	DefaultCallTimeout = 10 * time.Second
	// DefaultCallerTokenReload is how long a caller token read from a file is used before
	// the file is read again (WithCallerTokenReload).
	DefaultCallerTokenReload = 5 * time.Second
)

func defaultOptions() options {
	return options{
		callerTokenReload: DefaultCallerTokenReload,
		callTimeout:       DefaultCallTimeout,
		retry:             DefaultRetryPolicy,
		logger:            discardLogger,
	}
}

// WithPlaintext connects without TLS: for a broker on loopback, or behind a sidecar that
// terminates TLS. Without it (or a TLS option) a Client uses TLS verified with the system's
// CAs.
func WithPlaintext() Option {
	return func(o *options) { o.security = securityPlaintext }
}

// WithTLS connects over TLS, verifying the server with the PEM CA bundle in caFile (empty:
// the system's CAs). The server's certificate must name the host of the target (or the name
// given to WithServerName).
func WithTLS(caFile string) Option {
	return func(o *options) { o.security = securityTLS; o.caFile = caFile }
}

// WithClientCertificate presents the PEM certificate chain in certFile, with its private key
// in keyFile, to servers that ask for one (mutual TLS, the server's --client-ca-file). It
// implies TLS; combine it with WithTLS to set the CA. The files are read again at every TLS
// handshake, so a rotated certificate (cert-manager, a Kubernetes Secret) is picked up on the
// next connection.
func WithClientCertificate(certFile, keyFile string) Option {
	return func(o *options) { o.security = securityTLS; o.certFile = certFile; o.keyFile = keyFile }
}

// WithTLSConfig uses cfg as is (cloned) for TLS, for what the other options do not cover.
// It overrides WithTLS and WithClientCertificate.
func WithTLSConfig(cfg *tls.Config) Option {
	return func(o *options) { o.security = securityTLS; o.tlsConfig = cfg.Clone() }
}

// WithServerName verifies the server's certificate against name instead of the target's
// host (e.g. when dialing an IP address whose certificate names a DNS name).
func WithServerName(name string) Option {
	return func(o *options) { o.serverName = name }
}

// WithCallerToken sends `authorization: Bearer <token>` with every call, to identify this
// caller to a broker (or a proxy in front of it) that authenticates callers.
func WithCallerToken(token string) Option {
	return func(o *options) { o.callerToken = token; o.callerTokenFile = "" }
}

// WithCallerTokenFile is WithCallerToken with the token read from path (surrounding white
// space trimmed), e.g. a Kubernetes projected service-account token. The file is read at
// New, and again by the first call after the copy in memory is older than the reload
// interval (WithCallerTokenReload, default 5 s), so a rotated token is picked up without a
// restart. A call made while the file cannot be read (or is empty) fails with
// UNAUTHENTICATED naming the file, never quoting it.
func WithCallerTokenFile(path string) Option {
	return func(o *options) { o.callerTokenFile = path; o.callerToken = "" }
}

// WithCallerTokenReload sets how long a caller token read from the WithCallerTokenFile file
// stays in use before the file is read again (default DefaultCallerTokenReload, 5 s; 0:
// read at every call).
func WithCallerTokenReload(d time.Duration) Option {
	return func(o *options) { o.callerTokenReload = max(d, 0) }
}

// WithCallTimeout bounds every unary call whose context has no deadline, retries included
// (default DefaultCallTimeout, 10 s; 0: no bound, which must be asked for explicitly). A context deadline always wins. The WatchAccessTokens stream
// is never bounded by it.
func WithCallTimeout(d time.Duration) Option {
	return func(o *options) { o.callTimeout = d }
}

// WithRetry sets how unary calls that fail with UNAVAILABLE are retried (default
// DefaultRetryPolicy). Calls that change integrations (Create, Update, Delete) are never
// retried: a lost response would otherwise turn into ALREADY_EXISTS or ABORTED.
func WithRetry(p RetryPolicy) Option {
	return func(o *options) { o.retry = p }
}

// WithoutRetry makes every call a single attempt.
func WithoutRetry() Option {
	return func(o *options) { o.retry = RetryPolicy{MaxAttempts: 1} }
}

// WithDialOptions appends raw gRPC dial options (keepalive, a custom dialer, stats
// handlers, ...), applied after this package's own.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) { o.dialOptions = append(o.dialOptions, opts...) }
}

// WithLogger sends the SDK's own log records to l: today one warning each time a
// TokenSource's watch stream ends and is reopened. By default they are discarded: the SDK
// prints nothing by itself (not even through slog.Default). A nil l keeps the default.
// Records never hold a token or a secret.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// discardLogger drops every record (slog.DiscardHandler needs Go 1.24; this module
// supports 1.22).
var discardLogger = slog.New(discardHandler{})

type discardHandler struct{}

func (discardHandler) Enabled(context.Context, slog.Level) bool  { return false }
func (discardHandler) Handle(context.Context, slog.Record) error { return nil }
func (h discardHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h discardHandler) WithGroup(string) slog.Handler           { return h }
