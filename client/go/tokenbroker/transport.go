package tokenbroker

import "net/http"

// Transport is an http.RoundTripper that adds an integration's Adobe headers
// (Authorization, X-Api-Key, X-Gw-Ims-Org-Id, X-Sandbox-Name) from a TokenSource to every
// request, then sends it with Base:
//
//	ts := client.TokenSource("my-integration")
//	defer ts.Close()
//	hc := &http.Client{Transport: &tokenbroker.Transport{Source: ts}}
//	resp, err := hc.Get("https://platform.adobe.io/data/foundation/catalog/dataSets")
//
// Headers the request already has under those names are replaced. The request itself is
// not modified (a copy is sent), as http.RoundTripper requires. Safe for concurrent use.
type Transport struct {
	// Source gives the headers. Required.
	Source *TokenSource
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
}

// RoundTrip implements http.RoundTripper. When no token can be had, it returns the
// TokenSource's *Error (wrapped by http.Client in a *url.Error) and sends nothing.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	h, err := t.Source.headers(req.Context())
	if err != nil {
		if req.Body != nil {
			req.Body.Close() // RoundTrip must close the body, even on errors
		}
		return nil, err
	}
	r := req.Clone(req.Context())
	for k, v := range h {
		r.Header[k] = v[:len(v):len(v)] // shared by all requests: an append must copy
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}
