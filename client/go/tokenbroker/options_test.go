package tokenbroker_test

// The Client's defaults and options against the in-process fake server: retry waits, the
// caller-token file, the library logger, and the wrapped IntegrationService calls.

import (
	"bytes"
	"context"
	"errors"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/tokenbroker/tokenbroker/client/go/tokenbroker"
)

func TestBackoff_DrawnFromHalfToNominalWaitCappedAt2s(t *testing.T) {
	p := tokenbroker.DefaultRetryPolicy
	nominal := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond,
		400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond, 2 * time.Second, 2 * time.Second}
	for i, b := range nominal {
		lo, hi := b, time.Duration(0)
		for range 2000 {
			d := tokenbroker.Backoff(p, i+1, 0)
			lo, hi = min(lo, d), max(hi, d)
		}
		if lo < b/2 || hi > b {
			t.Errorf("attempt %d: waits in [%v, %v], want within [%v, %v]", i+1, lo, hi, b/2, b)
		}
		if hi-lo < b/4 { // 2000 uniform draws span nearly the whole interval
			t.Errorf("attempt %d: waits in [%v, %v]: not spread over [%v, %v]", i+1, lo, hi, b/2, b)
		}
	}
	if d := tokenbroker.Backoff(p, 1, 3*time.Second); d != 3*time.Second {
		t.Errorf("with a 3 s RetryInfo the wait is %v, want 3 s", d)
	}
}

func TestCallerTokenFile_RereadAfterReloadInterval(t *testing.T) {
	f := &fakeTokens{get: okToken(time.Hour)}
	addr := startFake(t, f)
	file := filepath.Join(t.TempDir(), "token")
	write := func(tok string) {
		if err := os.WriteFile(file+".tmp", []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(file+".tmp", file); err != nil {
			t.Fatal(err)
		}
	}
	write("first")
	slow := newClient(t, addr, tokenbroker.WithCallerTokenFile(file), tokenbroker.WithCallerTokenReload(time.Hour))
	fast := newClient(t, addr, tokenbroker.WithCallerTokenFile(file), tokenbroker.WithCallerTokenReload(50*time.Millisecond))
	write("second")
	if _, err := slow.AccessToken(context.Background(), "app"); err != nil {
		t.Fatal(err)
	}
	if got := f.auth(); len(got) != 1 || got[0] != "Bearer first" {
		t.Errorf("within the reload interval: authorization = %q, want the token read at New", got)
	}
	waitUntil(t, 5*time.Second, "the rotated token sent", func() bool {
		_, err := fast.AccessToken(context.Background(), "app")
		got := f.auth()
		return err == nil && len(got) == 1 && got[0] == "Bearer second"
	})
}

func TestCallerTokenFile_Unreadable_UnauthenticatedNamingFileNotContent(t *testing.T) {
	f := &fakeTokens{get: okToken(time.Hour)}
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("secret-caller-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, startFake(t, f), tokenbroker.WithCallerTokenFile(file),
		tokenbroker.WithCallerTokenReload(0), tokenbroker.WithoutRetry())
	for _, breakIt := range []func() error{
		func() error { return os.Remove(file) },
		func() error { return os.WriteFile(file, []byte(" \n"), 0o600) },
	} {
		if err := breakIt(); err != nil {
			t.Fatal(err)
		}
		_, err := c.AccessToken(context.Background(), "app")
		e := requireError(t, err, codes.Unauthenticated)
		if !errors.Is(err, tokenbroker.ErrUnauthenticated) || !strings.Contains(e.Message, file) {
			t.Errorf("err = %v, want UNAUTHENTICATED naming %s", err, file)
		}
		if strings.Contains(err.Error(), "secret-caller-token") {
			t.Errorf("err = %v: holds the old token", err)
		}
	}
	if n := f.getCalls.Load(); n != 0 {
		t.Errorf("the server got %d calls without a caller token", n)
	}
}

// recordingHandler keeps every slog record it is given.
type recordingHandler struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r)
	return nil
}
func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler      { return h }

func (h *recordingHandler) all() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]slog.Record(nil), h.records...)
}

// watchRestarted runs a token source against a fake without a stream (each watch ends at
// once) until its watch was reopened at least twice, and returns the token it handed out.
func watchRestarted(t *testing.T, c *tokenbroker.Client) *tokenbroker.Token {
	t.Helper()
	ts := c.TokenSource("app")
	defer ts.Close()
	tok, err := ts.AccessToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "two watch restarts", func() bool { return ts.WatchRestarts() >= 2 })
	return tok
}

func TestLogger_SilentByDefault(t *testing.T) {
	// What a library that logged "by itself" would reach: slog's default and log's output.
	def := &recordingHandler{}
	oldSlog := slog.Default()
	slog.SetDefault(slog.New(def))
	var std bytes.Buffer
	oldOut := log.Writer()
	log.SetOutput(&std)
	t.Cleanup(func() { slog.SetDefault(oldSlog); log.SetOutput(oldOut) })

	f := &fakeTokens{get: okToken(time.Hour)} // no stream: every watch ends UNIMPLEMENTED
	watchRestarted(t, newClient(t, startFake(t, f)))
	if n := len(def.all()); n != 0 || std.Len() != 0 {
		t.Errorf("the SDK logged by itself: %d slog.Default records, log output %q", n, std.String())
	}
}

func TestLogger_WatchRestartsLoggedAsWarnings(t *testing.T) {
	h := &recordingHandler{}
	f := &fakeTokens{get: okToken(time.Hour)}
	tok := watchRestarted(t, newClient(t, startFake(t, f), tokenbroker.WithLogger(slog.New(h))))
	recs := h.all()
	if len(recs) < 2 {
		t.Fatalf("%d records, want one per watch restart (at least 2)", len(recs))
	}
	for _, r := range recs {
		var text strings.Builder
		text.WriteString(r.Message)
		r.Attrs(func(a slog.Attr) bool { text.WriteString(" " + a.String()); return true })
		if r.Level != slog.LevelWarn || !strings.Contains(text.String(), "integrations/app") {
			t.Errorf("record %v %q: want a warning naming the integration", r.Level, text.String())
		}
		if strings.Contains(text.String(), tok.AccessToken) {
			t.Errorf("record %q holds the token", text.String())
		}
	}
}
