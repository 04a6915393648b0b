package tokenbroker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
)

// tlsConfig builds the client TLS configuration of o (security must be TLS or default).
func tlsConfig(o *options) (*tls.Config, error) {
	if o.tlsConfig != nil {
		cfg := o.tlsConfig.Clone()
		if o.serverName != "" {
			cfg.ServerName = o.serverName
		}
		return cfg, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: o.serverName}
	if o.caFile != "" {
		pem, err := os.ReadFile(o.caFile)
		if err != nil {
			return nil, fmt.Errorf("tokenbroker: reading CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tokenbroker: CA file %s holds no PEM certificate", o.caFile)
		}
		cfg.RootCAs = pool
	}
	if o.certFile != "" || o.keyFile != "" {
		certFile, keyFile := o.certFile, o.keyFile
		// Load once now so that a wrong path fails New, then at every handshake.
		if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
			return nil, fmt.Errorf("tokenbroker: loading client certificate: %w", err)
		}
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			c, err := tls.LoadX509KeyPair(certFile, keyFile)
			if err != nil {
				return nil, err
			}
			return &c, nil
		}
	}
	return cfg, nil
}

// callerCredentials sends `authorization: Bearer <token>` with every call.
type callerCredentials struct {
	static     string // the token, or "" when read from path
	path       string
	reload     time.Duration // how long a read stays in use
	requireTLS bool

	mu       sync.Mutex
	cached   string
	readTime time.Time
}

func newCallerCredentials(o *options) (*callerCredentials, error) {
	c := &callerCredentials{static: o.callerToken, path: o.callerTokenFile,
		reload: o.callerTokenReload, requireTLS: o.security != securityPlaintext}
	if c.path != "" {
		if _, err := c.token(time.Now()); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *callerCredentials) token(now time.Time) (string, error) {
	if c.path == "" {
		return c.static, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cached != "" && now.Sub(c.readTime) < c.reload {
		return c.cached, nil
	}
	// Errors name the file, never its content. The last good token is not kept through a
	// failed read: a rotation replaces the file atomically, so a failure is real.
	c.cached = ""
	b, err := os.ReadFile(c.path)
	if err != nil {
		return "", errorf(codes.Unauthenticated, "caller token file %s cannot be read: %v",
			c.path, pathErrorCause(err))
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", errorf(codes.Unauthenticated, "caller token file %s is empty", c.path)
	}
	c.cached, c.readTime = t, now
	return t, nil
}

// pathErrorCause is the reason of a file error without the path (the message names it once).
func pathErrorCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (c *callerCredentials) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	t, err := c.token(time.Now())
	if err != nil {
		return nil, err
	}
	return map[string]string{"authorization": "Bearer " + t}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials: the token is only sent
// over TLS, unless the caller chose WithPlaintext explicitly.
func (c *callerCredentials) RequireTransportSecurity() bool { return c.requireTLS }

var _ credentials.PerRPCCredentials = (*callerCredentials)(nil)
