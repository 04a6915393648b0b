package tokenbroker_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/tokenbroker/tokenbroker/client/go/tokenbroker"
)

// Calling an Adobe API with the integration's headers on every request.
func Example() {
	c, err := tokenbroker.New("127.0.0.1:50051", tokenbroker.WithPlaintext())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ts := c.TokenSource("my-integration") // cached, refreshed ahead of expiry
	defer ts.Close()
	hc := &http.Client{Transport: &tokenbroker.Transport{Source: ts}}
	resp, err := hc.Get("https://platform.adobe.io/data/foundation/catalog/dataSets")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status)
}

// A broker with TLS, a client certificate and a caller token.
func ExampleNew_mutualTLS() {
	c, err := tokenbroker.New("tokenbroker.internal:50051",
		tokenbroker.WithTLS("/etc/tokenbroker/ca.pem"),
		tokenbroker.WithClientCertificate("/etc/tls/tls.crt", "/etc/tls/tls.key"),
		tokenbroker.WithCallerTokenFile("/var/run/secrets/tokens/tokenbroker"),
		tokenbroker.WithCallTimeout(10*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
}

// Telling IMS's rejection of the credentials from an outage.
func ExampleError() {
	var c *tokenbroker.Client // from tokenbroker.New
	tok, err := c.AccessToken(context.Background(), "my-integration")
	var e *tokenbroker.Error
	switch {
	case err == nil:
		fmt.Println("token valid until", tok.ExpireTime)
	case errors.As(err, &e) && e.Reason == tokenbroker.ReasonIMSRejected:
		log.Printf("IMS rejected the credentials: %s (x-debug-id %s)", e.IMSError, e.XDebugID)
	case errors.Is(err, tokenbroker.ErrNotFound):
		log.Print("no such integration")
	case errors.Is(err, tokenbroker.ErrUnavailable):
		log.Print("IMS or the broker is down; retried already")
	}
}
