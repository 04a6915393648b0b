package tokenbroker_test

// The shared client conformance scenarios (client/conformance/scenarios.json), executed as
// client/conformance/README.md specifies: one subtest per scenario id, against the real
// ims-emulator and tokenbroker binaries. A setup key, op, client option or expectation key
// this runner does not know fails the scenario (the file is decoded strictly).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/tokenbroker/tokenbroker/client/go/tokenbroker"
	pb "github.com/tokenbroker/tokenbroker/client/go/tokenbrokerv1"
)

const scenariosFile = "../../conformance/scenarios.json"

type conformanceFile struct {
	Version   int                `json:"version"`
	Doc       string             `json:"doc"`
	Defaults  conformanceDefault `json:"defaults"`
	Scenarios []json.RawMessage  `json:"scenarios"`
}

type conformanceDefault struct {
	TLS         *bool  `json:"tls"`
	CallTimeout *int64 `json:"call_timeout_ms"`
	Retry       *struct {
		MaxAttempts    int     `json:"max_attempts"`
		InitialBackoff int64   `json:"initial_backoff_ms"`
		Multiplier     float64 `json:"multiplier"`
		MaxBackoff     int64   `json:"max_backoff_ms"`
	} `json:"retry"`
	TokenSourceMinValidity *string `json:"token_source_min_validity"`
	CallerTokenReload      *int64  `json:"caller_token_reload_ms"`
}

type scenario struct {
	ID     string `json:"id"`
	Rule   string `json:"rule"`
	Doc    string `json:"doc"`
	Broker struct {
		TLS    bool     `json:"tls"`
		Flags  []string `json:"flags"`
		Policy *struct {
			CallerTokens map[string]string `json:"caller_tokens"`
			Bindings     json.RawMessage   `json:"bindings"`
		} `json:"policy"`
	} `json:"broker"`
	EmulatorClients []struct {
		ClientID string `json:"client_id"`
		Secret   string `json:"secret"`
		Lifetime int    `json:"lifetime_s"`
	} `json:"emulator_clients"`
	Integrations []struct {
		ID       string `json:"id"`
		ClientID string `json:"client_id"`
		Secret   string `json:"secret"`
	} `json:"integrations"`
	SetupCallerToken string            `json:"setup_caller_token"`
	Faults           json.RawMessage   `json:"faults"`
	Steps            []json.RawMessage `json:"steps"`
}

// step is the union of every op's keys; stepOps says which keys each op takes.
type step struct {
	Op             string       `json:"op"`
	Integration    string       `json:"integration"`
	Client         *clientSpec  `json:"client"`
	Expect         *expectation `json:"expect"`
	TokenRequests  *int         `json:"token_requests"`
	Token          string       `json:"token"`
	WithinMS       int64        `json:"within_ms"`
	SaveAs         string       `json:"save_as"`
	MinRemainingMS int64        `json:"min_remaining_ms"`
	From           string       `json:"from"`
	BeforeExpiryOf string       `json:"before_expiry_of"`
	Value          string       `json:"value"`
}

type clientSpec struct {
	Plaintext         bool   `json:"plaintext"`
	CAFile            bool   `json:"ca_file"`
	CallTimeoutMS     *int64 `json:"call_timeout_ms"`
	CallerTokenFile   bool   `json:"caller_token_file"`
	CallerTokenReload *int64 `json:"caller_token_reload_ms"`
}

type expectation struct {
	OK              *bool       `json:"ok"`
	Code            *codes.Code `json:"code"` // canonical names, e.g. "NOT_FOUND"
	Typed           *bool       `json:"typed"`
	Reason          *string     `json:"reason"`
	IMSError        *string     `json:"ims_error"`
	HTTPStatus      *string     `json:"http_status"`
	XDebugID        *string     `json:"x_debug_id"`
	RetryDelayMinMS *int64      `json:"retry_delay_min_ms"`
	MessageExcludes *string     `json:"message_excludes"`
	MinElapsedMS    *int64      `json:"min_elapsed_ms"`
	MaxElapsedMS    *int64      `json:"max_elapsed_ms"`
}

// decodeStrict decodes b into v, failing on any key v does not have.
func decodeStrict(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

func loadScenarios(t *testing.T) (conformanceFile, []scenario) {
	t.Helper()
	b, err := os.ReadFile(scenariosFile)
	if err != nil {
		t.Fatal(err)
	}
	var f conformanceFile
	if err := decodeStrict(b, &f); err != nil {
		t.Fatalf("%s: %v", scenariosFile, err)
	}
	if f.Version != 1 {
		t.Fatalf("%s: version %d, this runner knows 1", scenariosFile, f.Version)
	}
	var out []scenario
	for i, raw := range f.Scenarios {
		var sc scenario
		if err := decodeStrict(raw, &sc); err != nil {
			t.Fatalf("%s: scenario %d: %v", scenariosFile, i, err)
		}
		out = append(out, sc)
	}
	return f, out
}

func TestConformance(t *testing.T) {
	f, scenarios := loadScenarios(t)
	if len(scenarios) == 0 {
		t.Fatalf("%s holds no scenario", scenariosFile)
	}
	seen := map[string]bool{}
	for _, sc := range scenarios {
		if sc.ID == "" || seen[sc.ID] {
			t.Fatalf("scenario id %q empty or repeated", sc.ID)
		}
		seen[sc.ID] = true
		sc := sc
		t.Run(sc.ID, func(t *testing.T) { runScenario(t, f.Defaults, sc) })
	}
}

// conformanceRun is one scenario's state.
type conformanceRun struct {
	t          *testing.T
	sc         scenario
	defaults   conformanceDefault
	dir        string
	ims        *emulator
	broker     *broker
	pki        *testPKI
	tokenFile  string // the scenario's caller-token file
	client     *tokenbroker.Client
	source     *tokenbroker.TokenSource
	saved      map[string]*tokenbroker.Token
	closeLater []func()
}

func runScenario(t *testing.T, defaults conformanceDefault, sc scenario) {
	r := &conformanceRun{t: t, sc: sc, defaults: defaults, dir: t.TempDir(),
		saved: map[string]*tokenbroker.Token{}}
	r.tokenFile = filepath.Join(r.dir, "caller-token")
	t.Cleanup(r.closeAll)
	steps := make([]step, len(sc.Steps))
	for i, raw := range sc.Steps { // decode every step first: an unknown op fails at once
		var err error
		if steps[i], err = decodeStep(raw); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if r.needsServers(steps) {
		r.setUp()
	}
	for i, st := range steps {
		if err := stepOps[st.Op].run(r, st); err != nil {
			t.Fatalf("step %d (%s): %v", i, st.Op, err)
		}
	}
}

// decodeStep decodes one step strictly and checks that its op exists and takes its keys.
func decodeStep(raw json.RawMessage) (step, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return step{}, err
	}
	var st step
	if err := decodeStrict(raw, &st); err != nil {
		return step{}, err
	}
	op, ok := stepOps[st.Op]
	if !ok {
		return step{}, fmt.Errorf("unknown op %q", st.Op)
	}
	allowed := map[string]bool{"op": true}
	for _, k := range op.keys {
		allowed[k] = true
	}
	for k := range keys {
		if !allowed[k] {
			return step{}, fmt.Errorf("op %s: unknown key %q", st.Op, k)
		}
	}
	return st, nil
}

// needsServers: a scenario whose steps only read the SDK's defaults starts nothing.
func (r *conformanceRun) needsServers(steps []step) bool {
	for _, st := range steps {
		if st.Op != "check_defaults" {
			return true
		}
	}
	return false
}

func (r *conformanceRun) closeAll() {
	for i := len(r.closeLater) - 1; i >= 0; i-- {
		r.closeLater[i]()
	}
}

// setUp starts the emulator and the broker, creates the integrations and sets the faults.
func (r *conformanceRun) setUp() {
	t := r.t
	clients := []emulatorClient{emulatorClientOf("c-day", "s-day", 24*3600)}
	for _, c := range r.sc.EmulatorClients {
		clients = append(clients, emulatorClientOf(c.ClientID, c.Secret, c.Lifetime))
	}
	r.ims = startEmulator(t, clients...)
	flags := append([]string(nil), r.sc.Broker.Flags...)
	if r.sc.Broker.TLS {
		p := newTestPKI(t)
		r.pki = &p
		flags = append(flags, "--tls-cert="+p.serverCert, "--tls-key="+p.serverKey)
	}
	if pol := r.sc.Broker.Policy; pol != nil {
		flags = append(flags, "--policy-file="+r.writePolicy())
	}
	r.broker = startBroker(t, r.ims, flags...)
	r.createIntegrations()
	if len(r.sc.Faults) > 0 {
		r.ims.setFaults(t, string(r.sc.Faults))
	}
}

func emulatorClientOf(id, secret string, lifetimeSeconds int) emulatorClient {
	c := client(id, lifetimeSeconds)
	c.ClientSecrets = []string{secret}
	return c
}

// writePolicy writes the broker's policy file: caller tokens as salted HMACs, bindings as given.
func (r *conformanceRun) writePolicy() string {
	pol := r.sc.Broker.Policy
	ids := make([]string, 0, len(pol.CallerTokens))
	for id := range pol.CallerTokens {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var tokens []map[string]string
	for _, id := range ids {
		tokens = append(tokens, map[string]string{"identity": id, "hash": policyHash(pol.CallerTokens[id])})
	}
	b, err := json.Marshal(map[string]any{"version": 1, "caller_tokens": tokens,
		"bindings": pol.Bindings})
	if err != nil {
		r.t.Fatal(err)
	}
	path := filepath.Join(r.dir, "policy.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		r.t.Fatal(err)
	}
	return path
}

// createIntegrations creates the scenario's integrations through the SDK's wrapped
// IntegrationService call (over TLS with the test CA when the broker speaks TLS).
func (r *conformanceRun) createIntegrations() {
	t := r.t
	if len(r.sc.Integrations) == 0 {
		return
	}
	opts := []tokenbroker.Option{tokenbroker.WithPlaintext()}
	if r.pki != nil {
		opts = []tokenbroker.Option{tokenbroker.WithTLS(r.pki.caFile)}
	}
	if r.sc.SetupCallerToken != "" {
		opts = append(opts, tokenbroker.WithCallerToken(r.sc.SetupCallerToken))
	}
	c, err := tokenbroker.New(r.broker.addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, in := range r.sc.Integrations {
		_, err := c.CreateIntegration(context.Background(), in.ID, &pb.Integration{
			AuthMethod: pb.AuthMethod_AUTH_METHOD_OAUTH_SERVER_TO_SERVER, ClientId: in.ClientID,
			OrgId: orgID, TechnicalAccountId: techAccount, Scopes: []string{"openid", "AdobeID"},
			Credentials: &pb.Credentials{ClientSecrets: []string{in.Secret}}})
		if err != nil {
			t.Fatalf("CreateIntegration(%s): %v", in.ID, err)
		}
	}
}

// newClient makes a client with the options of spec.
func (r *conformanceRun) newClient(spec *clientSpec) (*tokenbroker.Client, error) {
	var opts []tokenbroker.Option
	if spec.Plaintext {
		opts = append(opts, tokenbroker.WithPlaintext())
	}
	if spec.CAFile {
		if r.pki == nil {
			return nil, errors.New("client ca_file: the broker has no TLS (broker.tls)")
		}
		opts = append(opts, tokenbroker.WithTLS(r.pki.caFile))
	}
	if spec.CallTimeoutMS != nil {
		opts = append(opts, tokenbroker.WithCallTimeout(ms(*spec.CallTimeoutMS)))
	}
	if spec.CallerTokenFile {
		opts = append(opts, tokenbroker.WithCallerTokenFile(r.tokenFile))
	}
	if spec.CallerTokenReload != nil {
		opts = append(opts, tokenbroker.WithCallerTokenReload(ms(*spec.CallerTokenReload)))
	}
	return tokenbroker.New(r.broker.addr, opts...)
}

// stepClient is the step's own client (closed by the returned func), else client_open's.
func (r *conformanceRun) stepClient(st step) (*tokenbroker.Client, func(), error) {
	if st.Client == nil {
		if r.client == nil {
			return nil, nil, errors.New("no client: the step has none and no client_open is in effect")
		}
		return r.client, func() {}, nil
	}
	c, err := r.newClient(st.Client)
	if err != nil {
		return nil, nil, err
	}
	return c, func() { c.Close() }, nil
}

func ms(n int64) time.Duration { return time.Duration(n) * time.Millisecond }
