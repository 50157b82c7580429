package webhooks

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"herald/scheduler/netguard"
	"herald/store"
)

func openStore(t testing.TB) *store.Store {
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
	return st
}

// verify checks a delivery the way a receiver using the Standard Webhooks
// scheme does, written here from the scheme rather than from Sign: one of
// the space-separated v1 signatures must be the HMAC-SHA256, keyed with
// the secret's base64 bytes, of "id.timestamp.body", and the timestamp
// within 5 minutes of now.
func verify(secret string, h http.Header, body []byte, now time.Time) bool {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || id == "" || now.Sub(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		return false
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	want := m.Sum(nil)
	for _, s := range strings.Fields(sigs) {
		version, b64, ok := strings.Cut(s, ",")
		got, err := base64.StdEncoding.DecodeString(b64)
		if ok && version == "v1" && err == nil && hmac.Equal(got, want) {
			return true
		}
	}
	return false
}

// receiver is an endpoint on loopback that records what it is sent and
// answers as answer says.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	answer func(w http.ResponseWriter, r *http.Request)
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) *receiver {
	rc := &receiver{answer: answer}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{r.Header.Clone(), body})
		rc.mu.Unlock()
		if rc.answer != nil {
			rc.answer(w, r)
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) received() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// deliverer runs a deliverer over st until the test ends; allow lists the
// hosts it may reach though they are private.
func deliverer(t *testing.T, st *store.Store, cfg Config, allow ...string) *Deliverer {
	t.Helper()
	cfg.Store, cfg.Log = st, slog.New(slog.NewTextHandler(io.Discard, nil))
	if cfg.Guard == nil {
		cfg.Guard = &netguard.Guard{Allowed: func(h string) bool {
			for _, a := range allow {
				if a == h {
					return true
				}
			}
			return false
		}}
	}
	if cfg.Idle == 0 {
		cfg.Idle = 20 * time.Millisecond
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("deliverer: %v", err)
		}
	})
	return d
}

func endpoint(t *testing.T, st *store.Store, url string, events ...string) (store.Webhook, string) {
	t.Helper()
	w, secret, err := st.CreateWebhook(context.Background(), store.WebhookInput{URL: &url, Events: &events}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return w, secret
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func createContact(t *testing.T, st *store.Store, email string) store.Contact {
	t.Helper()
	c, _, err := st.CreateContact(context.Background(), store.ContactInput{Email: &email, Source: "test"}, false)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func deliveries(t *testing.T, st *store.Store, id int64) []store.Delivery {
	t.Helper()
	ds, _, err := st.Deliveries(context.Background(), id, store.DeliveryFilter{}, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestDeliversSignedEvents(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	rc := newReceiver(t, nil)
	w, secret := endpoint(t, st, rc.URL+"/hooks", store.EventContactCreated, store.EventContactDeleted)
	deliverer(t, st, Config{}, "127.0.0.1")

	ann := createContact(t, st, "ann@example.com")
	if err := st.DeleteContact(context.Background(), ann.ID); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "two deliveries", func() bool { return len(rc.received()) >= 2 })
	types := map[string]map[string]any{}
	for _, r := range rc.received() {
		if !verify(secret, r.header, r.body, time.Now()) {
			t.Fatalf("signature does not verify: %v", r.header)
		}
		if r.header.Get("Content-Type") != "application/json" || r.header.Get("webhook-id") == "" {
			t.Errorf("headers: got %v", r.header)
		}
		var p struct {
			ID        string         `json:"id"`
			Type      string         `json:"type"`
			CreatedAt time.Time      `json:"created_at"`
			Data      map[string]any `json:"data"`
		}
		if err := json.Unmarshal(r.body, &p); err != nil || p.ID != r.header.Get("webhook-id") || p.CreatedAt.IsZero() {
			t.Fatalf("payload: got %s (%v), want {id, type, created_at, data} with the webhook-id", r.body, err)
		}
		types[p.Type] = p.Data
	}
	if c := types[store.EventContactCreated]; c == nil || c["email"] != "ann@example.com" || c["status"] != "active" {
		t.Errorf("contact.created: got %v", c)
	}
	if d := types[store.EventContactDeleted]; d == nil || d["email"] != "ann@example.com" || d["id"] != float64(ann.ID) {
		t.Errorf("contact.deleted: got %v", d)
	}
	// A signature made with another secret does not verify.
	if r := rc.received()[0]; verify("whsec_"+base64.StdEncoding.EncodeToString([]byte("another secret, 32 bytes long!!!")), r.header, r.body, time.Now()) {
		t.Error("a delivery verified with the wrong secret")
	}
	waitUntil(t, "both delivered", func() bool {
		ds := deliveries(t, st, w.ID)
		return len(ds) == 2 && ds[0].Status == store.DeliveryDelivered && ds[1].Status == store.DeliveryDelivered
	})
	_, attempts, err := st.Delivery(context.Background(), w.ID, deliveries(t, st, w.ID)[0].ID)
	if err != nil || len(attempts) != 1 || attempts[0].StatusCode != 200 || !strings.Contains(strings.ToLower(attempts[0].Request), "webhook-signature: v1,") ||
		!strings.Contains(attempts[0].Response, "200 OK") {
		t.Fatalf("attempt log: got %+v (%v)", attempts, err)
	}
}

// TestNoEventForAChangeThatRolledBack: a contact refused in the middle of
// its transaction leaves no event behind.
func TestNoEventForAChangeThatRolledBack(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	w, _ := endpoint(t, st, "https://hooks.example.com/in", store.EventContactCreated)
	email := "ann@example.com"
	if _, _, err := st.CreateContact(context.Background(), store.ContactInput{Email: &email, Lists: []int64{999}}, false); err == nil {
		t.Fatal("a contact on a list that does not exist: got no error")
	}
	if ds := deliveries(t, st, w.ID); len(ds) != 0 {
		t.Fatalf("deliveries after a rolled-back change: got %d, want none", len(ds))
	}
	createContact(t, st, email)
	if ds := deliveries(t, st, w.ID); len(ds) != 1 {
		t.Fatalf("deliveries after a change: got %d, want 1", len(ds))
	}
}

func TestRollingSecretSignsWithBoth(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	rc := newReceiver(t, nil)
	w, old := endpoint(t, st, rc.URL, store.EventContactCreated)
	fresh, err := st.RollWebhookSecret(context.Background(), w.ID)
	if err != nil || fresh == old {
		t.Fatalf("roll: got %q (%v)", fresh, err)
	}
	deliverer(t, st, Config{}, "127.0.0.1")
	createContact(t, st, "ann@example.com")
	waitUntil(t, "a delivery", func() bool { return len(rc.received()) == 1 })
	r := rc.received()[0]
	if !verify(old, r.header, r.body, time.Now()) || !verify(fresh, r.header, r.body, time.Now()) || len(strings.Fields(r.header.Get("webhook-signature"))) != 2 {
		t.Fatalf("signatures %q: want one for each secret", r.header.Get("webhook-signature"))
	}
}

// TestDifficultReceivers: an endpoint that fails, hangs, redirects, is
// slow or answers too much.
func TestDifficultReceivers(t *testing.T) {
	t.Parallel()
	redirected := newReceiver(t, nil)
	cases := []struct {
		name      string
		answer    func(w http.ResponseWriter, r *http.Request)
		delivered bool
		errHas    string
	}{
		{"500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) }, false, "answered 500"},
		{"timeout", func(w http.ResponseWriter, r *http.Request) { time.Sleep(600 * time.Millisecond) }, false, "No answer within"},
		{"redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, redirected.URL, http.StatusFound) }, false, "does not follow redirects"},
		{"slow", func(w http.ResponseWriter, r *http.Request) { time.Sleep(100 * time.Millisecond) }, true, ""},
		{"oversized", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(strings.Repeat("x", 3<<20))) }, true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := openStore(t)
			rc := newReceiver(t, tc.answer)
			w, _ := endpoint(t, st, rc.URL, store.EventContactCreated)
			deliverer(t, st, Config{Timeout: 300 * time.Millisecond, FirstRetry: time.Hour}, "127.0.0.1")
			createContact(t, st, "ann@example.com")
			waitUntil(t, "an attempt", func() bool { ds := deliveries(t, st, w.ID); return len(ds) == 1 && ds[0].Attempts == 1 })
			d := deliveries(t, st, w.ID)[0]
			_, attempts, _ := st.Delivery(context.Background(), w.ID, d.ID)
			if delivered := d.Status == store.DeliveryDelivered; delivered != tc.delivered || !strings.Contains(d.LastError, tc.errHas) || len(attempts) != 1 {
				t.Fatalf("got %s after %d attempts (%q), want delivered=%v mentioning %q", d.Status, d.Attempts, d.LastError, tc.delivered, tc.errHas)
			}
			if !tc.delivered && (d.Status != store.DeliveryPending || time.Until(d.NextAttemptAt) < 30*time.Minute) {
				t.Errorf("a failure: got %s, next try %v, want it tried again later", d.Status, d.NextAttemptAt)
			}
			if tc.name == "oversized" && (len(attempts[0].Response) > 5000 || !strings.Contains(attempts[0].Response, "truncated")) {
				t.Errorf("oversized answer: logged %d bytes", len(attempts[0].Response))
			}
			if tc.name == "redirect" && len(redirected.received()) != 0 {
				t.Errorf("the redirect was followed")
			}
		})
	}
}

// TestGivesUpAfterThreeDays: failures are retried, with backoff, until the
// event is 3 days old; an endpoint failing that long is disabled and the
// owners told.
func TestGivesUpAfterThreeDays(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	var mu sync.Mutex
	now := time.Now()
	st.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) })
	w, _ := endpoint(t, st, rc.URL, store.EventContactCreated)
	var told []string
	d := deliverer(t, st, Config{FirstRetry: time.Minute, Notify: func(_ context.Context, subject, text string) {
		mu.Lock()
		told = append(told, subject+": "+text)
		mu.Unlock()
	}}, "127.0.0.1")
	createContact(t, st, "ann@example.com")
	waitUntil(t, "the first attempt", func() bool { return deliveries(t, st, w.ID)[0].Attempts == 1 })
	first := deliveries(t, st, w.ID)[0]
	if wait := first.NextAttemptAt.Sub(now); first.Status != store.DeliveryPending || wait < 45*time.Second || wait > 75*time.Second {
		t.Fatalf("after one failure: %s, next in %v; want pending, about a minute on", first.Status, wait)
	}
	advance(2 * time.Minute)
	d.Wake()
	waitUntil(t, "the second attempt", func() bool { return deliveries(t, st, w.ID)[0].Attempts == 2 })
	if second := deliveries(t, st, w.ID)[0]; second.Attempts != 2 || second.NextAttemptAt.Sub(now) < 90*time.Second {
		t.Fatalf("after two failures: next in %v; want about two minutes: the delay doubles", second.NextAttemptAt.Sub(now))
	}
	advance(73 * time.Hour)
	d.Wake()
	waitUntil(t, "giving up", func() bool { return deliveries(t, st, w.ID)[0].Status == store.DeliveryFailed })
	got, _ := st.Webhook(context.Background(), w.ID)
	mu.Lock()
	defer mu.Unlock()
	if got.Enabled || got.DisabledReason == "" || len(told) != 1 || !strings.Contains(told[0], rc.URL) {
		t.Fatalf("after 3 days: endpoint enabled=%v (%q), owners told %v", got.Enabled, got.DisabledReason, told)
	}
}

// fakeResolver answers names from a table, never from the network.
type fakeResolver map[string][]netip.Addr

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := f[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// TestGuardRefusesPrivateAddresses: loopback is refused, also through a
// DNS name that resolves to it, until the owner allows the host.
func TestGuardRefusesPrivateAddresses(t *testing.T) {
	t.Parallel()
	resolver := fakeResolver{"hooks.shop.test": {netip.MustParseAddr("127.0.0.1")}}
	for _, tc := range []struct {
		name, host string
		allow      []string
		delivered  bool
	}{
		{"loopback", "127.0.0.1", nil, false},
		{"a name for loopback", "hooks.shop.test", nil, false},
		{"a name allowed", "hooks.shop.test", []string{"hooks.shop.test"}, true},
		{"an address allowed", "127.0.0.1", []string{"127.0.0.1"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rc := newReceiver(t, nil)
			_, port, _ := net.SplitHostPort(strings.TrimPrefix(rc.URL, "http://"))
			st := openStore(t)
			w, _ := endpoint(t, st, "http://"+net.JoinHostPort(tc.host, port)+"/in", store.EventContactCreated)
			allow := tc.allow
			g := &netguard.Guard{Resolver: resolver, Allowed: func(h string) bool {
				for _, a := range allow {
					if a == h {
						return true
					}
				}
				return false
			}}
			deliverer(t, st, Config{Guard: g, FirstRetry: time.Hour})
			createContact(t, st, "ann@example.com")
			waitUntil(t, "an attempt", func() bool { ds := deliveries(t, st, w.ID); return len(ds) == 1 && ds[0].Attempts == 1 })
			d := deliveries(t, st, w.ID)[0]
			if delivered := d.Status == store.DeliveryDelivered; delivered != tc.delivered {
				t.Fatalf("got %s (%q), want delivered=%v", d.Status, d.LastError, tc.delivered)
			}
			if !tc.delivered && (!strings.Contains(d.LastError, "not a public address") || len(rc.received()) != 0) {
				t.Fatalf("refused: got %q, and the receiver got %d requests", d.LastError, len(rc.received()))
			}
		})
	}
}

// TestDisabledEndpointWaits: what waits for a disabled endpoint is not
// sent until it is enabled again; a test event is sent all the same.
func TestDisabledEndpointWaits(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	rc := newReceiver(t, nil)
	w, _ := endpoint(t, st, rc.URL, store.EventContactCreated)
	ctx := context.Background()
	createContact(t, st, "ann@example.com")
	if _, err := st.UpdateWebhook(ctx, w.ID, store.WebhookInput{Enabled: new(false)}, nil); err != nil {
		t.Fatal(err)
	}
	deliverer(t, st, Config{}, "127.0.0.1")
	if _, err := st.SendTestEvent(ctx, w.ID); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the test event", func() bool { return len(rc.received()) == 1 })
	time.Sleep(200 * time.Millisecond)
	if got := rc.received(); len(got) != 1 || !strings.Contains(string(got[0].body), "webhook.test") {
		t.Fatalf("while disabled: got %d deliveries, want the test event alone", len(got))
	}
	if _, err := st.UpdateWebhook(ctx, w.ID, store.WebhookInput{Enabled: new(true)}, nil); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the waiting event, once enabled", func() bool { return len(rc.received()) == 2 })
}

// TestEndpointDeletedInFlight: an endpoint deleted while a delivery to it
// is in flight takes its log with it, and the deliveries recorded with that
// one, to other endpoints, are recorded all the same.
func TestEndpointDeletedInFlight(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	slow := newReceiver(t, func(w http.ResponseWriter, r *http.Request) { time.Sleep(300 * time.Millisecond) })
	gone, _ := endpoint(t, st, slow.URL+"/gone", store.EventContactCreated)
	kept, _ := endpoint(t, st, slow.URL+"/kept", store.EventContactCreated)
	createContact(t, st, "ann@example.com")
	deliverer(t, st, Config{}, "127.0.0.1")
	waitUntil(t, "both in flight", func() bool { return len(slow.received()) == 2 })
	if err := st.DeleteWebhook(context.Background(), gone.ID); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the other recorded", func() bool { ds := deliveries(t, st, kept.ID); return ds[0].Status == store.DeliveryDelivered })
	if ds := deliveries(t, st, kept.ID); ds[0].Attempts != 1 {
		t.Fatalf("the kept endpoint's delivery: %d attempts, want 1", ds[0].Attempts)
	}
}
