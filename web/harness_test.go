package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"herald/scheduler"
	"herald/scheduler/outbound"
	"herald/store"
)

const (
	ownerEmail    = "owner@example.com"
	ownerPassword = "correct horse battery"
)

// harness runs the real router over a real SQLite file behind httptest.
type harness struct {
	t      testing.TB
	st     *store.Store
	srv    *Server
	ts     *httptest.Server
	client *http.Client
	out    *outbound.Service

	specOnce  sync.Once
	specCache *specCheck
}

// harnessConfig is what a harness is built from: the server's config and
// its outbound service's.
type harnessConfig struct {
	Config
	Out outbound.Config
}

// newHarness builds a harness; opts adjust its config. Its outbound
// service retries after a second and looks for work every 100 ms; its
// dispatcher and lane run only in the tests that start them.
func newHarness(t testing.TB, opts ...func(*harnessConfig)) *harness {
	t.Helper()
	box, err := store.NewSecretBox([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), t.TempDir(), box)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := harnessConfig{Config: Config{Store: st, Logger: log, Version: "test", Static: os.DirFS("../static"),
		Jobs: func() []scheduler.JobStatus { return nil }, Imports: noImports{}},
		Out: outbound.Config{Log: log, FirstRetry: time.Second, Every: 100 * time.Millisecond}}
	for _, o := range opts {
		o(&cfg)
	}
	cfg.Out.Store = cfg.Store
	if cfg.Outbound, err = outbound.New(cfg.Out); err != nil {
		t.Fatal(err)
	}
	srv, err := New(cfg.Config)
	if err != nil {
		t.Fatal(err)
	}
	// Registered before the server, so the server stops first.
	runWorker(t, cfg.Outbound.Hits())
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	h := &harness{t: t, st: cfg.Store, srv: srv, ts: ts, out: cfg.Outbound}
	h.client = h.newClient()
	return h
}

// noImports stands in for the import worker in the tests that run none:
// a queued import then waits.
type noImports struct{}

func (noImports) Wake() {}

// runWorker runs one of the outbound service's workers until the test
// ends, and waits for it.
func runWorker(t testing.TB, w interface{ Run(context.Context) error }) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
	})
}

// newClient returns a client with its own cookie jar that does not follow redirects.
func (h *harness) newClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// request sends a request the way a browser on Herald's own pages would.
func (h *harness) request(c *http.Client, method, path string, body io.Reader, hdr map[string]string) *http.Response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.ts.URL+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { resp.Body.Close() })
	if isAPIPath(path) {
		// Every API answer a test receives is held to the OpenAPI description.
		raw, err := io.ReadAll(resp.Body)
		if err != nil {
			h.t.Fatal(err)
		}
		resp.Body = io.NopCloser(bytes.NewReader(raw))
		if err := h.spec().check(method, path, resp, raw); err != nil {
			h.t.Errorf("%s %s: the answer does not match the OpenAPI description: %v", method, path, err)
		}
	}
	if isTrackingPath(path) {
		// A tracking hit reaches the counts a moment after its answer;
		// what the test reads next is what an owner sees by then.
		if err := h.out.Hits().Sync(context.Background()); err != nil {
			h.t.Fatal(err)
		}
	}
	return resp
}

func (h *harness) get(path string) *http.Response {
	return h.request(h.client, http.MethodGet, path, nil, nil)
}

func (h *harness) postForm(path string, form url.Values, hdr map[string]string) *http.Response {
	if hdr == nil {
		hdr = map[string]string{}
	}
	hdr["Content-Type"] = "application/x-www-form-urlencoded"
	return h.request(h.client, http.MethodPost, path, strings.NewReader(form.Encode()), hdr)
}

// createOwner makes the owner account directly in the store.
func (h *harness) createOwner() store.User {
	h.t.Helper()
	u, err := h.st.CreateUser(context.Background(), store.NewUser{Email: ownerEmail, Role: store.RoleOwner, Password: ownerPassword})
	if err != nil {
		h.t.Fatal(err)
	}
	return u
}

// signIn creates the owner and signs the harness client in.
func (h *harness) signIn() {
	h.t.Helper()
	h.createOwner()
	resp := h.postForm("/login", url.Values{"email": {ownerEmail}, "password": {ownerPassword}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		h.t.Fatalf("sign in: got %d, want 303: %s", resp.StatusCode, body(h.t, resp))
	}
}

// apiKey creates an API key with the given scope and returns its secret.
// Its limits are far above what a test asks, so that a walk over the
// routes is never slowed; the tests of limits make keys of their own.
func (h *harness) apiKey(scope string) string {
	h.t.Helper()
	_, secret, err := h.st.CreateAPIKey(context.Background(), store.NewAPIKey{Name: "test " + scope, Scopes: []string{scope},
		Limits: store.RateLimits{Read: 100_000, Write: 100_000, Send: 100_000}})
	if err != nil {
		h.t.Fatal(err)
	}
	return secret
}

// api calls the API with key and decodes the JSON answer.
func (h *harness) api(key, method, path string, payload any) (int, map[string]any) {
	h.t.Helper()
	resp, out := h.apiWith(key, method, path, payload, nil)
	if out == nil && resp.ContentLength != 0 && method != http.MethodHead {
		h.t.Fatalf("%s %s: answer is not JSON but %s", method, path, resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode, out
}

// spec is the OpenAPI description the harness's server serves.
func (h *harness) spec() *specCheck {
	h.specOnce.Do(func() {
		doc, err := h.srv.openAPIDoc(h.ts.URL)
		if err != nil {
			h.t.Fatalf("openapi: %v", err)
		}
		h.specCache = newSpecCheck(roundTrip(doc))
	})
	return h.specCache
}

// apiWith calls the API with key and the extra headers hdr, and returns
// the answer with its JSON decoded, or nil when it is not JSON.
func (h *harness) apiWith(key, method, path string, payload any, hdr map[string]string) (*http.Response, map[string]any) {
	h.t.Helper()
	var r io.Reader
	if s, ok := payload.(string); ok {
		r = strings.NewReader(s)
	} else if payload != nil {
		b, _ := json.Marshal(payload)
		r = strings.NewReader(string(b))
	}
	all := map[string]string{"Sec-Fetch-Site": "", "Content-Type": "application/json"}
	if key != "" {
		all["Authorization"] = "Bearer " + key
	}
	for k, v := range hdr {
		all[k] = v
	}
	resp := h.request(http.DefaultClient, method, path, r, all)
	raw := body(h.t, resp)
	var out map[string]any
	if raw != "" && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal([]byte(raw), &out); err != nil {
			h.t.Fatalf("%s %s: answer is not JSON: %q", method, path, raw)
		}
	}
	return resp, out
}

func body(t testing.TB, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var csrfInput = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// csrfFrom returns the CSRF token of the first form in a page.
func csrfFrom(t *testing.T, page string) string {
	t.Helper()
	m := csrfInput.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF field in page: %.300s", page)
	}
	return m[1]
}

func cookieNamed(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// clock is a clock a test moves by hand, for the store and everything that
// follows its time; it starts at the real time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

// setClock gives the harness's store a clock the test moves by hand.
func (h *harness) setClock() *clock {
	c := &clock{t: time.Now()}
	h.st.SetClock(c.Now)
	return c
}

// Now is the clock's time.
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock on by d.
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// setBaseURL sets the public base URL, which links in mail start with and
// without which nobody may sign up, to the harness's own address.
func (h *harness) setBaseURL() {
	h.t.Helper()
	ctx := context.Background()
	g, err := h.st.General(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	if g.BaseURL != "" {
		return
	}
	g.BaseURL = h.ts.URL
	if _, err := h.st.SaveGeneral(ctx, g); err != nil {
		h.t.Fatal(err)
	}
	h.srv.generalCache.Store(nil)
}
