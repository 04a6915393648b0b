package tokenbroker_test

// The process harness: starts the real ims-emulator and tokenbroker binaries on free
// loopback ports, per test, and stops them when the test ends.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokenbroker/tokenbroker/client/go/tokenbroker"
	pb "github.com/tokenbroker/tokenbroker/client/go/tokenbrokerv1"
)

const (
	orgID          = "ORG@AdobeOrg"
	techAccount    = "T@techacct.adobe.com"
	goodSecret     = "s1"
	startupTimeout = 15 * time.Second
)

// binDir is $TOKENBROKER_BIN_DIR, else <repo>/build/bin (this file is in client/go/tokenbroker).
func binDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("TOKENBROKER_BIN_DIR"); d != "" {
		return d
	}
	d, err := filepath.Abs(filepath.Join("..", "..", "..", "build", "bin"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func binary(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(binDir(t), name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s not found (%v): build the server first (`make build` at the repo root) "+
			"or set TOKENBROKER_BIN_DIR", p, err)
	}
	return p
}

// process is one started binary.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	port int
	done chan struct{}
}

// startProcess runs bin with args plus --port-file, waits for the port, and stops the
// process (SIGTERM, then SIGKILL) when the test ends; its log is printed if the test failed.
func startProcess(t testing.TB, bin string, args ...string) *process {
	t.Helper()
	dir := t.TempDir()
	portFile := filepath.Join(dir, "port")
	p := &process{name: filepath.Base(bin), log: filepath.Join(dir, "log"), done: make(chan struct{})}
	logFile, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin, append(args, "--port-file="+portFile)...)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	killWithParent(p.cmd)
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	go func() { p.cmd.Wait(); logFile.Close(); close(p.done) }()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			b, _ := os.ReadFile(p.log)
			t.Logf("--- %s log ---\n%s", p.name, tail(b, 4000))
		}
	})
	deadline := time.Now().Add(startupTimeout)
	for {
		if b, err := os.ReadFile(portFile); err == nil {
			if port, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && port > 0 {
				p.port = port
				return p
			}
		}
		select {
		case <-p.done:
			b, _ := os.ReadFile(p.log)
			t.Fatalf("%s exited before serving: %v\n%s", p.name, p.cmd.ProcessState, tail(b, 4000))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not write its port within %v", p.name, startupTimeout)
		}
	}
}

func (p *process) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// emulatorClient is one entry of the emulator's clients file.
type emulatorClient struct {
	ClientID             string   `json:"client_id"`
	ClientSecrets        []string `json:"client_secrets"`
	OrgID                string   `json:"org_id"`
	TechnicalAccountID   string   `json:"technical_account_id"`
	Scopes               []string `json:"scopes"`
	TokenLifetimeSeconds int      `json:"token_lifetime_seconds,omitempty"`
}

func client(id string, lifetimeSeconds int) emulatorClient {
	return emulatorClient{ClientID: id, ClientSecrets: []string{goodSecret}, OrgID: orgID,
		TechnicalAccountID: techAccount, Scopes: []string{"openid", "AdobeID"},
		TokenLifetimeSeconds: lifetimeSeconds}
}

// emulator is a running ims-emulator.
type emulator struct {
	*process
	url    string
	caFile string
	http   *http.Client
}

func startEmulator(t testing.TB, clients ...emulatorClient) *emulator {
	t.Helper()
	dir := t.TempDir()
	clientsFile := filepath.Join(dir, "clients.json")
	b, _ := json.Marshal(map[string]any{"clients": clients})
	if err := os.WriteFile(clientsFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	e := &emulator{caFile: filepath.Join(dir, "ims-ca.pem")}
	e.process = startProcess(t, binary(t, "ims-emulator"), "--listen=127.0.0.1:0",
		"--cert-out="+e.caFile, "--clients="+clientsFile)
	e.url = fmt.Sprintf("https://127.0.0.1:%d", e.port)
	pool := x509.NewCertPool()
	ca, err := os.ReadFile(e.caFile)
	if err != nil || !pool.AppendCertsFromPEM(ca) {
		t.Fatalf("reading the emulator's certificate: %v", err)
	}
	e.http = &http.Client{Timeout: 5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	// Runs before the emulator is stopped: it waits for open keep-alive connections to close.
	t.Cleanup(e.http.CloseIdleConnections)
	return e
}

type emulatorStats struct {
	TotalExchanges int            `json:"total_exchanges"`
	Rejected       int            `json:"rejected"`
	FaultsInjected int            `json:"faults_injected"`
	TokenRequests  int            `json:"token_requests"`
	Exchanges      map[string]int `json:"exchanges"`
}

func (e *emulator) stats(t testing.TB) emulatorStats {
	t.Helper()
	resp, err := e.http.Get(e.url + "/emulator/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s emulatorStats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// setFaults replaces the emulator's fault settings, e.g. `{"down":true}`; `{}` clears them.
func (e *emulator) setFaults(t testing.TB, faults string) {
	t.Helper()
	resp, err := e.http.Post(e.url+"/emulator/faults", "application/json", strings.NewReader(faults))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /emulator/faults: %s", resp.Status)
	}
}

// broker is a running tokenbroker.
type broker struct {
	*process
	addr string
	args []string // without --listen
}

func startBroker(t testing.TB, ims *emulator, extra ...string) *broker {
	t.Helper()
	args := append([]string{"--store=memory", "--ims-url=" + ims.url,
		"--ims-ca-file=" + ims.caFile, "--shutdown-grace=1s", "--log-level=warning"}, extra...)
	p := startProcess(t, binary(t, "tokenbroker"), append([]string{"--listen=127.0.0.1:0"}, args...)...)
	return &broker{process: p, addr: fmt.Sprintf("127.0.0.1:%d", p.port), args: args}
}

// restart stops the broker (SIGTERM) and starts it again on the same port with the same
// flags. Its store is memory: integrations must be created again.
func (b *broker) restart(t testing.TB) {
	t.Helper()
	b.stop()
	listen := fmt.Sprintf("--listen=127.0.0.1:%d", b.port)
	b.process = startProcess(t, binary(t, "tokenbroker"), append([]string{listen}, b.args...)...)
}

// stack is an emulator, a broker in front of it, and a plaintext SDK client of the broker.
type stack struct {
	ims    *emulator
	broker *broker
	client *tokenbroker.Client
}

func startStack(t testing.TB, brokerFlags []string, clients ...emulatorClient) *stack {
	t.Helper()
	s := &stack{ims: startEmulator(t, clients...)}
	s.broker = startBroker(t, s.ims, brokerFlags...)
	c, err := tokenbroker.New(s.broker.addr, tokenbroker.WithPlaintext())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s.client = c
	return s
}

// createIntegration registers integration id for emulator client clientID with secret.
func (s *stack) createIntegration(t testing.TB, id, clientID, secret string, orgHeader bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := s.client.CreateIntegration(ctx, id, &pb.Integration{
		AuthMethod:         pb.AuthMethod_AUTH_METHOD_OAUTH_SERVER_TO_SERVER,
		ClientId:           clientID,
		OrgId:              orgID,
		TechnicalAccountId: techAccount,
		Scopes:             []string{"openid", "AdobeID"},
		IncludeOrgHeader:   orgHeader,
		Credentials:        &pb.Credentials{ClientSecrets: []string{secret}},
	})
	if err != nil {
		t.Fatalf("CreateIntegration(%s): %v", id, err)
	}
}

// testPKI is a CA with a server certificate for 127.0.0.1 and a client certificate, as PEM
// files.
type testPKI struct {
	caFile, serverCert, serverKey, clientCert, clientKey string
	otherCAFile                                          string // a CA that signed nothing here
}

func newTestPKI(t testing.TB) testPKI {
	t.Helper()
	p, err := makePKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func makePKI(dir string) (testPKI, error) {
	p := testPKI{}
	now := time.Now()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1),
		Subject:   pkix.Name{CommonName: "tokenbroker test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return p, err
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage, ips []net.IP) ([]byte, []byte, error) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial),
			Subject:   pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: ips}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			return nil, nil, err
		}
		keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
	}
	srvCert, srvKey, err := leaf(2, "127.0.0.1", x509.ExtKeyUsageServerAuth,
		[]net.IP{net.ParseIP("127.0.0.1")})
	if err != nil {
		return p, err
	}
	cliCert, cliKey, err := leaf(3, "sdk-test-client", x509.ExtKeyUsageClientAuth, nil)
	if err != nil {
		return p, err
	}
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherTmpl := *caTmpl
	otherTmpl.Subject = pkix.Name{CommonName: "unrelated CA"}
	otherDER, err := x509.CreateCertificate(rand.Reader, &otherTmpl, &otherTmpl, &otherKey.PublicKey, otherKey)
	if err != nil {
		return p, err
	}
	files := []struct {
		dst  *string
		name string
		data []byte
	}{
		{&p.caFile, "ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})},
		{&p.serverCert, "server.pem", srvCert}, {&p.serverKey, "server-key.pem", srvKey},
		{&p.clientCert, "client.pem", cliCert}, {&p.clientKey, "client-key.pem", cliKey},
		{&p.otherCAFile, "other-ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: otherDER})},
	}
	for _, f := range files {
		*f.dst = filepath.Join(dir, f.name)
		if err := os.WriteFile(*f.dst, f.data, 0o600); err != nil {
			return p, err
		}
	}
	return p, nil
}
