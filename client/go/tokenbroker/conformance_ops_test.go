package tokenbroker_test

// The conformance runner's ops and expectations (client/conformance/README.md).

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/tokenbroker/tokenbroker/client/go/tokenbroker"
)

// stepOp is one op: the keys it takes besides "op", and what it does.
type stepOp struct {
	keys []string
	run  func(*conformanceRun, step) error
}

var stepOps = map[string]stepOp{
	"check_defaults":             {nil, (*conformanceRun).checkDefaults},
	"get_access_token":           {[]string{"integration", "client", "expect"}, (*conformanceRun).getAccessToken},
	"get_integration":            {[]string{"integration", "client", "expect"}, (*conformanceRun).getIntegration},
	"expect_emulator":            {[]string{"token_requests"}, (*conformanceRun).expectEmulator},
	"client_open":                {[]string{"client"}, (*conformanceRun).clientOpen},
	"client_close":               {nil, (*conformanceRun).clientClose},
	"write_caller_token_file":    {[]string{"token"}, (*conformanceRun).writeCallerTokenFile},
	"get_access_token_until_ok":  {[]string{"integration", "client", "within_ms"}, (*conformanceRun).getAccessTokenUntilOK},
	"token_source_open":          {[]string{"integration", "client"}, (*conformanceRun).tokenSourceOpen},
	"token_source_close":         {nil, (*conformanceRun).tokenSourceClose},
	"token_source_token":         {[]string{"save_as", "min_remaining_ms"}, (*conformanceRun).tokenSourceToken},
	"token_source_until_changed": {[]string{"from", "within_ms", "min_remaining_ms", "before_expiry_of"}, (*conformanceRun).tokenSourceUntilChanged},
	"restart_broker":             {nil, (*conformanceRun).restartBroker},
	"refresh_access_token":       {[]string{"integration", "client", "save_as"}, (*conformanceRun).refreshAccessToken},
	"token_source_until_equals":  {[]string{"value", "within_ms"}, (*conformanceRun).tokenSourceUntilEquals},
}

// checkDefaults compares a client made with no options (and its token source) with the
// file's defaults. Every key of defaults must be present: check_defaults checks them all.
func (r *conformanceRun) checkDefaults(step) error {
	d := r.defaults
	if d.TLS == nil || d.CallTimeout == nil || d.Retry == nil || d.TokenSourceMinValidity == nil ||
		d.CallerTokenReload == nil {
		return errors.New("defaults: a key is missing")
	}
	c, err := tokenbroker.New("127.0.0.1:1") // connects lazily: nothing is dialed
	if err != nil {
		return err
	}
	defer c.Close()
	got := tokenbroker.ClientSettings(c)
	want := tokenbroker.Settings{TLS: *d.TLS, CallTimeout: ms(*d.CallTimeout),
		CallerTokenReload: ms(*d.CallerTokenReload), Retry: tokenbroker.RetryPolicy{
			MaxAttempts: d.Retry.MaxAttempts, InitialBackoff: ms(d.Retry.InitialBackoff),
			MaxBackoff: ms(d.Retry.MaxBackoff), Multiplier: d.Retry.Multiplier}}
	if got != want {
		return fmt.Errorf("defaults = %+v, want %+v", got, want)
	}
	if *d.TokenSourceMinValidity != "server" {
		return fmt.Errorf("token_source_min_validity %q: this runner knows \"server\"", *d.TokenSourceMinValidity)
	}
	ts := c.TokenSource("any")
	defer ts.Close()
	if mv := tokenbroker.TokenSourceMinValidity(ts); mv != 0 {
		return fmt.Errorf("token source minimum validity = %v, want unset (the server's rule)", mv)
	}
	return nil
}

// callResult is one call's outcome, for expectations.
type callResult struct {
	ok      bool // succeeded with a non-empty result
	err     error
	elapsed time.Duration
}

func (r *conformanceRun) getAccessToken(st step) error {
	return r.expectCall(st, func(c *tokenbroker.Client) (bool, error) {
		tok, err := c.AccessToken(context.Background(), st.Integration)
		return err == nil && tok.AccessToken != "", err
	})
}

func (r *conformanceRun) getIntegration(st step) error {
	return r.expectCall(st, func(c *tokenbroker.Client) (bool, error) {
		in, err := c.GetIntegration(context.Background(), st.Integration)
		return err == nil && in.GetName() != "", err
	})
}

// expectCall makes call with the step's client, timed, and checks the step's expectation.
func (r *conformanceRun) expectCall(st step, call func(*tokenbroker.Client) (bool, error)) error {
	if st.Expect == nil {
		return errors.New("no expect")
	}
	c, done, err := r.stepClient(st)
	if err != nil {
		return err
	}
	defer done()
	start := time.Now()
	ok, err := call(c)
	return st.Expect.check(callResult{ok: ok, err: err, elapsed: time.Since(start)})
}

func (r *conformanceRun) expectEmulator(st step) error {
	if st.TokenRequests == nil {
		return errors.New("no token_requests")
	}
	if n := r.ims.stats(r.t).TokenRequests; n != *st.TokenRequests {
		return fmt.Errorf("emulator token_requests = %d, want %d", n, *st.TokenRequests)
	}
	return nil
}

func (r *conformanceRun) clientOpen(st step) error {
	if st.Client == nil {
		return errors.New("no client")
	}
	if r.client != nil {
		return errors.New("a client is open already")
	}
	c, err := r.newClient(st.Client)
	if err != nil {
		return err
	}
	r.client = c
	r.closeLater = append(r.closeLater, func() { c.Close() })
	return nil
}

func (r *conformanceRun) clientClose(step) error {
	if r.client == nil {
		return errors.New("no client is open")
	}
	err := r.client.Close()
	r.client = nil
	return err
}

// writeCallerTokenFile replaces the file's content atomically (a temporary file, renamed).
func (r *conformanceRun) writeCallerTokenFile(st step) error {
	tmp := filepath.Join(r.dir, "caller-token.tmp")
	if err := os.WriteFile(tmp, []byte(st.Token+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, r.tokenFile)
}

func (r *conformanceRun) getAccessTokenUntilOK(st step) error {
	c, done, err := r.stepClient(st)
	if err != nil {
		return err
	}
	defer done()
	var last error
	err = pollUntil(ms(st.WithinMS), func(ctx context.Context) (bool, error) {
		tok, err := c.AccessToken(ctx, st.Integration)
		last = err
		return err == nil && tok.AccessToken != "", nil
	})
	if err != nil {
		return fmt.Errorf("%v (last error: %v)", err, last)
	}
	return nil
}

func (r *conformanceRun) tokenSourceOpen(st step) error {
	if r.source != nil {
		return errors.New("a token source is open already")
	}
	c, done, err := r.stepClient(st)
	if err != nil {
		return err
	}
	ts := c.TokenSource(st.Integration)
	r.source = ts
	r.closeLater = append(r.closeLater, func() { ts.Close(); done() })
	return nil
}

func (r *conformanceRun) tokenSourceClose(step) error {
	if r.source == nil {
		return errors.New("no token source is open")
	}
	err := r.source.Close()
	r.source = nil
	return err
}

func (r *conformanceRun) tokenSourceToken(st step) error {
	if r.source == nil {
		return errors.New("no token source is open")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tok, err := r.source.AccessToken(ctx)
	if err != nil {
		return err
	}
	if err := checkRemaining(tok, st.MinRemainingMS); err != nil {
		return err
	}
	if st.SaveAs != "" {
		r.saved[st.SaveAs] = tok
	}
	return nil
}

// checkRemaining fails when tok has less than minMS left (minMS 0: no check).
func checkRemaining(tok *tokenbroker.Token, minMS int64) error {
	if left := time.Until(tok.ExpireTime); minMS > 0 && left < ms(minMS) {
		return fmt.Errorf("token handed out with %v left, want at least %v", left, ms(minMS))
	}
	return nil
}

func (r *conformanceRun) savedToken(name string) (*tokenbroker.Token, error) {
	tok, ok := r.saved[name]
	if !ok {
		return nil, fmt.Errorf("no token saved as %q", name)
	}
	return tok, nil
}

func (r *conformanceRun) tokenSourceUntilChanged(st step) error {
	from, err := r.savedToken(st.From)
	if err != nil {
		return err
	}
	var deadline *tokenbroker.Token
	if st.BeforeExpiryOf != "" {
		if deadline, err = r.savedToken(st.BeforeExpiryOf); err != nil {
			return err
		}
	}
	return r.pollSource(st.WithinMS, func(tok *tokenbroker.Token) (bool, error) {
		if err := checkRemaining(tok, st.MinRemainingMS); err != nil {
			return false, err
		}
		if tok.AccessToken == from.AccessToken {
			return false, nil
		}
		if deadline != nil && !time.Now().Before(deadline.ExpireTime) {
			return false, fmt.Errorf("the new token arrived after %q expired", st.BeforeExpiryOf)
		}
		return true, nil
	})
}

func (r *conformanceRun) tokenSourceUntilEquals(st step) error {
	want, err := r.savedToken(st.Value)
	if err != nil {
		return err
	}
	return r.pollSource(st.WithinMS, func(tok *tokenbroker.Token) (bool, error) {
		return tok.AccessToken == want.AccessToken, nil
	})
}

// pollSource asks the token source every 50 ms until check says done, within withinMS.
func (r *conformanceRun) pollSource(withinMS int64, check func(*tokenbroker.Token) (bool, error)) error {
	if r.source == nil {
		return errors.New("no token source is open")
	}
	return pollUntil(ms(withinMS), func(ctx context.Context) (bool, error) {
		tok, err := r.source.AccessToken(ctx)
		if err != nil {
			return false, err
		}
		return check(tok)
	})
}

// pollUntil calls f every 50 ms until it reports done or an error, or within has passed.
func pollUntil(within time.Duration, f func(context.Context) (bool, error)) error {
	if within <= 0 {
		return errors.New("within_ms missing")
	}
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		done, err := f(ctx)
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not within %v", within)
		case <-tick.C:
		}
	}
}

func (r *conformanceRun) restartBroker(step) error {
	r.broker.restart(r.t)
	r.createIntegrations()
	return nil
}

func (r *conformanceRun) refreshAccessToken(st step) error {
	c, done, err := r.stepClient(st)
	if err != nil {
		return err
	}
	defer done()
	tok, err := c.RefreshAccessToken(context.Background(), st.Integration)
	if err != nil {
		return err
	}
	if st.SaveAs != "" {
		r.saved[st.SaveAs] = tok
	}
	return nil
}

// sentinels maps codes to the errors.Is sentinels of the package ("typed").
var sentinels = map[codes.Code]error{
	codes.InvalidArgument: tokenbroker.ErrInvalidArgument, codes.NotFound: tokenbroker.ErrNotFound,
	codes.AlreadyExists: tokenbroker.ErrAlreadyExists, codes.FailedPrecondition: tokenbroker.ErrFailedPrecondition,
	codes.Aborted: tokenbroker.ErrAborted, codes.Unavailable: tokenbroker.ErrUnavailable,
	codes.PermissionDenied: tokenbroker.ErrPermissionDenied, codes.Unauthenticated: tokenbroker.ErrUnauthenticated,
	codes.DeadlineExceeded: tokenbroker.ErrDeadlineExceeded, codes.ResourceExhausted: tokenbroker.ErrResourceExhausted,
}

// check returns what of e does not hold for res, nil when all of it does.
func (e *expectation) check(res callResult) error {
	var fails []string
	fail := func(format string, args ...any) { fails = append(fails, fmt.Sprintf(format, args...)) }
	if e.MinElapsedMS != nil && res.elapsed < ms(*e.MinElapsedMS) {
		fail("took %v, want at least %d ms", res.elapsed, *e.MinElapsedMS)
	}
	if e.MaxElapsedMS != nil && res.elapsed > ms(*e.MaxElapsedMS) {
		fail("took %v, want at most %d ms", res.elapsed, *e.MaxElapsedMS)
	}
	if e.OK != nil {
		if !*e.OK {
			fail("ok: false is not a known expectation")
		} else if !res.ok {
			fail("failed: %v", res.err)
		}
	}
	if e.Code != nil || e.Typed != nil || e.Reason != nil || e.IMSError != nil || e.HTTPStatus != nil ||
		e.XDebugID != nil || e.RetryDelayMinMS != nil || e.MessageExcludes != nil {
		fails = append(fails, e.checkError(res.err)...)
	}
	if len(fails) > 0 {
		return errors.New(strings.Join(fails, "; "))
	}
	return nil
}

// checkError checks the error keys of e against err.
func (e *expectation) checkError(err error) []string {
	var te *tokenbroker.Error
	if !errors.As(err, &te) {
		return []string{fmt.Sprintf("err = %T %v, want a *tokenbroker.Error", err, err)}
	}
	var fails []string
	fail := func(format string, args ...any) { fails = append(fails, fmt.Sprintf(format, args...)) }
	if e.Code != nil && te.Code != *e.Code {
		fail("code %v (%v), want %v", te.Code, err, *e.Code)
	}
	if e.Typed != nil {
		if s, ok := sentinels[te.Code]; !*e.Typed || !ok || !errors.Is(err, s) {
			fail("typed: errors.Is(err, the %v sentinel) does not hold", te.Code)
		}
	}
	want := func(key string, wantP *string, got string) {
		if wantP != nil && got != *wantP {
			fail("%s = %q, want %q", key, got, *wantP)
		}
	}
	want("reason", e.Reason, te.Reason)
	want("ims_error", e.IMSError, te.IMSError)
	want("http_status", e.HTTPStatus, strconv.Itoa(te.HTTPStatus))
	if e.XDebugID != nil && (*e.XDebugID != "nonempty" || te.XDebugID == "") {
		fail("x_debug_id %q, want %s", te.XDebugID, *e.XDebugID)
	}
	if e.RetryDelayMinMS != nil && te.RetryDelay < ms(*e.RetryDelayMinMS) {
		fail("retry delay %v, want at least %d ms", te.RetryDelay, *e.RetryDelayMinMS)
	}
	if x := e.MessageExcludes; x != nil && (*x == "" || strings.Contains(te.Message, *x) ||
		strings.Contains(err.Error(), *x) || strings.Contains(fmt.Sprintf("%+v", err), *x)) {
		fail("the error's message or string form holds %q", *x)
	}
	return fails
}
