// Package tokenbroker is the Go SDK of tokenbroker, the gRPC service that holds a company's
// Adobe integrations and hands out Adobe IMS access tokens.
//
// Over the generated stubs (package tokenbrokerv1) it adds:
//
//   - Client: one connection (plaintext, TLS, mutual TLS), an optional caller token, a
//     deadline on every call, retries of UNAVAILABLE with bounded exponential backoff and
//     jitter, and errors as *Error (code, ErrorInfo reason, IMS's error and x-debug-id).
//   - TokenSource: an integration's token cached in memory and refreshed ahead of expiry by
//     following the broker's WatchAccessTokens stream; also an oauth2.TokenSource.
//   - Transport: an http.RoundTripper that adds the Adobe headers to every request.
//
// A minimal use:
//
//	c, err := tokenbroker.New("127.0.0.1:50051", tokenbroker.WithPlaintext())
//	if err != nil { ... }
//	defer c.Close()
//	ts := c.TokenSource("my-integration")
//	defer ts.Close()
//	hc := &http.Client{Transport: &tokenbroker.Transport{Source: ts}}
//	resp, err := hc.Get("https://platform.adobe.io/data/foundation/catalog/dataSets")
package tokenbroker
