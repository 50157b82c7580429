package web

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"herald/mailer/smtptest"
	"herald/store"
)

// publicList makes a public list with the opt-in given, and opens
// sign-ups by giving Herald its public address.
func publicList(t *testing.T, h *harness, optIn string) store.List {
	t.Helper()
	h.setBaseURL()
	l, err := h.st.CreateList(context.Background(), store.ListInput{Name: ptrTo("Updates " + optIn), OptIn: &optIn, Visibility: ptrTo("public")})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// formPost posts a sign-up the way a form on another website would.
func formPost(h *harness, path string, form url.Values) *http.Response {
	return h.postForm(path, form, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://shop.example"})
}

func TestSubscriptionFormRevealsNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	l := publicList(t, h, "single")
	h.st.CreateContact(ctx, store.ContactInput{Email: ptrTo("known@example.com"), FirstName: ptrTo("Known")}, false)
	h.st.CreateContact(ctx, store.ContactInput{Email: ptrTo("blocked@example.com"), Status: ptrTo(store.StatusBlocked)}, false)
	h.st.AddSuppression(ctx, store.SuppressionInput{Value: "suppressed.example"})
	var pages []string
	for _, email := range []string{"new@example.com", "known@example.com", "KNOWN@example.com", "blocked@example.com", "x@suppressed.example"} {
		resp := formPost(h, "/subscribe/"+itoa(l.ID), url.Values{"email": {email}, "first_name": {"Mallory"}})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: got %d, want 200", email, resp.StatusCode)
		}
		pages = append(pages, body(t, resp))
	}
	for i, p := range pages[1:] {
		if p != pages[0] {
			t.Errorf("answer %d differs from the answer for a new address", i+2)
		}
	}
	known, _ := h.st.ContactByEmail(ctx, "known@example.com")
	if known.FirstName != "Known" || len(known.Memberships) != 1 || known.Memberships[0].Status != store.MemberConfirmed {
		t.Errorf("known contact: got %+v, want the name kept and a confirmed membership", known)
	}
	blocked, _ := h.st.ContactByEmail(ctx, "blocked@example.com")
	if len(blocked.Memberships) != 0 {
		t.Errorf("blocked contact was subscribed: %+v", blocked.Memberships)
	}
	if _, err := h.st.ContactByEmail(ctx, "x@suppressed.example"); err != store.ErrNotFound {
		t.Errorf("suppressed address: got %v, want no contact", err)
	}
}

func TestSubscriptionFormRefusesBotsAndFloods(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	l := publicList(t, h, "single")
	resp := formPost(h, "/subscribe/"+itoa(l.ID), url.Values{"email": {"bot@example.com"}, "website": {"http://spam.example"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("honeypot: got %d, want 200", resp.StatusCode)
	}
	if _, err := h.st.ContactByEmail(ctx, "bot@example.com"); err != store.ErrNotFound {
		t.Fatalf("honeypot: got %v, want nothing stored", err)
	}
	if resp := formPost(h, "/subscribe/"+itoa(l.ID), url.Values{"email": {"nope"}}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad address: got %d, want 422", resp.StatusCode)
	}
	var last *http.Response
	for i := 0; i < 6; i++ {
		last = formPost(h, "/subscribe/"+itoa(l.ID), url.Values{"email": {"flood" + itoa(int64(i)) + "@example.com"}})
	}
	if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Fatalf("sign-up flood: got %d, want 429 with Retry-After", last.StatusCode)
	}
	private, _ := h.st.CreateList(ctx, store.ListInput{Name: ptrTo("Staff")})
	if resp := h.get("/subscribe/" + itoa(private.ID)); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("private list form: got %d, want 404", resp.StatusCode)
	}
}

func TestConfirmLinksNeedAValidTokenAndAButtonPress(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	l := publicList(t, h, "double")
	out, err := h.st.SubscribeByForm(ctx, l.ID, store.FormSubscription{Email: "dbl@example.com", IP: "127.0.0.1"})
	if err != nil || !out.Confirm {
		t.Fatalf("subscribe: got %+v, %v", out, err)
	}
	box := h.st.Box()
	good := box.SignToken(store.Token{Purpose: store.PurposeConfirm, ContactID: out.ContactID, ListID: l.ID, Expires: time.Now().Add(time.Hour)})
	expired := box.SignToken(store.Token{Purpose: store.PurposeConfirm, ContactID: out.ContactID, ListID: l.ID, Expires: time.Now().Add(-time.Hour)})
	wrongPurpose := box.SignToken(store.Token{Purpose: store.PurposeUnsubscribe, ContactID: out.ContactID, ListID: l.ID})
	for name, tok := range map[string]string{"expired": expired, "other purpose": wrongPurpose, "tampered": good[:len(good)-2] + "xx", "garbage": "abc"} {
		if resp := formPost(h, "/subscribe/confirm/"+tok, url.Values{}); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s token: got %d, want 404", name, resp.StatusCode)
		}
	}
	if resp := h.get("/subscribe/confirm/" + good); resp.StatusCode != http.StatusOK || !strings.Contains(body(t, resp), "Yes, subscribe me") {
		t.Fatalf("confirm page: got %d", resp.StatusCode)
	}
	c, _ := h.st.ContactByEmail(ctx, "dbl@example.com")
	if c.Memberships[0].Status != store.MemberUnconfirmed {
		t.Fatal("visiting the link confirmed without the button")
	}
	if resp := formPost(h, "/subscribe/confirm/"+good, url.Values{}); resp.StatusCode != http.StatusOK {
		t.Fatalf("confirm: got %d", resp.StatusCode)
	}
	c, _ = h.st.ContactByEmail(ctx, "dbl@example.com")
	if c.Memberships[0].Status != store.MemberConfirmed {
		t.Fatalf("after confirming: got %s", c.Memberships[0].Status)
	}
}

func TestOneClickUnsubscribeAndPreferences(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	news, deals := publicList(t, h, "single"), publicList(t, h, "double")
	c, _, _ := h.st.CreateContact(ctx, store.ContactInput{Email: ptrTo("reader@example.com"), Lists: []int64{news.ID}}, false)

	links := h.srv.out.Links(ctx)
	unsubNews := strings.TrimPrefix(links.Unsubscribe(c.ID, news.ID), links.Base())
	if resp := h.get(unsubNews); resp.StatusCode != http.StatusOK {
		t.Fatalf("unsubscribe page: got %d", resp.StatusCode)
	}
	if got, _ := h.st.Contact(ctx, c.ID); got.Memberships[0].Status != store.MemberConfirmed {
		t.Fatal("visiting the unsubscribe page unsubscribed")
	}
	// RFC 8058: a mail program posts List-Unsubscribe=One-Click, without cookies.
	resp := h.request(http.DefaultClient, http.MethodPost, unsubNews, strings.NewReader("List-Unsubscribe=One-Click"),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": ""})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("one-click: got %d, want 200", resp.StatusCode)
	}
	got, _ := h.st.Contact(ctx, c.ID)
	if got.Memberships[0].Status != store.MemberUnsubscribed || got.Status != store.StatusActive {
		t.Fatalf("after one-click from news: got %+v", got)
	}
	evs, _ := h.st.ContactEvents(ctx, c.ID, 1)
	if len(evs) != 1 || !strings.Contains(evs[0].Detail, "one click") {
		t.Fatalf("timeline: got %+v, want the one-click unsubscribe", evs)
	}

	prefs := strings.TrimPrefix(links.Preferences(c.ID), links.Base())
	page := body(t, h.get(prefs))
	if !strings.Contains(page, news.Name) || !strings.Contains(page, deals.Name) {
		t.Fatalf("preferences page lacks the public lists")
	}
	resp = formPost(h, prefs, url.Values{"lists": {itoa(deals.ID)}, "action": {"save"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body(t, resp), "saved") {
		t.Fatalf("save preferences: got %d", resp.StatusCode)
	}
	got, _ = h.st.Contact(ctx, c.ID)
	status := map[string]string{}
	for _, m := range got.Memberships {
		status[m.ListName] = m.Status
	}
	if status[deals.Name] != store.MemberConfirmed || status[news.Name] != store.MemberUnsubscribed {
		t.Fatalf("after saving preferences: got %v", status)
	}
	formPost(h, prefs, url.Values{"action": {"unsubscribe_all"}})
	if got, _ = h.st.Contact(ctx, c.ID); got.Status != store.StatusUnsubscribed {
		t.Fatalf("unsubscribe from all: got status %s", got.Status)
	}
	if resp := h.get("/p/" + "forged.token"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("forged preferences link: got %d, want 404", resp.StatusCode)
	}
}

// solve finds a nonce for a challenge the slow way, as a browser would.
func solve(t *testing.T, challenge string, bits int) string {
	t.Helper()
	for n := 0; n < 1<<26; n++ {
		nonce := itoa(int64(n))
		if leadingZeroBits(sha256.Sum256([]byte(challenge+":"+nonce))) >= bits {
			return nonce
		}
	}
	t.Fatal("no nonce found")
	return ""
}

var challengeField = regexp.MustCompile(`name="pow_challenge" value="([^"]+)"`)

func TestSignUpPuzzle(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *harnessConfig) { c.ChallengeBits = 8 })
	h.setBaseURL()
	ctx := context.Background()
	l, _ := h.st.CreateList(ctx, store.ListInput{Name: ptrTo("Guarded"), Visibility: ptrTo("public"), Challenge: ptrTo(true)})
	path := "/subscribe/" + itoa(l.ID)
	page := body(t, h.get(path))
	m := challengeField.FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, `data-pow-bits="8"`) {
		t.Fatal("the form carries no puzzle")
	}
	challenge := m[1]

	resp := formPost(h, path, url.Values{"email": {"embed@example.com"}})
	if page := body(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(page, "Press Subscribe to finish") || !strings.Contains(page, `value="embed@example.com"`) {
		t.Fatalf("without the puzzle: got %d, want the hosted form filled in", resp.StatusCode)
	}
	if _, err := h.st.ContactByEmail(ctx, "embed@example.com"); err != store.ErrNotFound {
		t.Fatal("a sign-up without the puzzle was stored")
	}
	// A nonce that does not solve it: a random guess solves one puzzle in 256.
	miss := "guess"
	for leadingZeroBits(sha256.Sum256([]byte(challenge+":"+miss))) >= 8 {
		miss += "x"
	}
	wrong := url.Values{"email": {"guess@example.com"}, "pow_challenge": {challenge}, "pow_nonce": {miss}}
	formPost(h, path, wrong)
	if _, err := h.st.ContactByEmail(ctx, "guess@example.com"); err != store.ErrNotFound {
		t.Fatal("a wrong nonce was accepted")
	}
	good := url.Values{"email": {"solver@example.com"}, "pow_challenge": {challenge}, "pow_nonce": {solve(t, challenge, 8)}}
	formPost(h, path, good)
	if _, err := h.st.ContactByEmail(ctx, "solver@example.com"); err != nil {
		t.Fatalf("a solved puzzle: %v", err)
	}
	good.Set("email", "replay@example.com")
	formPost(h, path, good)
	if _, err := h.st.ContactByEmail(ctx, "replay@example.com"); err != store.ErrNotFound {
		t.Fatal("a solved puzzle worked twice")
	}
}

func TestRequiredFormFieldStopsTheSignUp(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.setBaseURL()
	ctx := context.Background()
	l, _ := h.st.CreateList(ctx, store.ListInput{Name: ptrTo("Local"), Visibility: ptrTo("public"),
		FormFields: &[]store.FormField{{Key: "city", Label: "City", Required: true}}})
	resp := formPost(h, "/subscribe/"+itoa(l.ID), url.Values{"email": {"nocity@example.com"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body(t, resp), "Please fill this in") {
		t.Fatalf("missing required field: got %d, want 422 with a message", resp.StatusCode)
	}
	if _, err := h.st.ContactByEmail(ctx, "nocity@example.com"); err != store.ErrNotFound {
		t.Fatalf("a sign-up missing a required field was stored: %v", err)
	}
	formPost(h, "/subscribe/"+itoa(l.ID), url.Values{"email": {"city@example.com"}, "attr_city": {"Leeds"}, "attr_age": {"ignored"}})
	c, err := h.st.ContactByEmail(ctx, "city@example.com")
	if err != nil || c.Attributes["city"] != "Leeds" || c.Attributes["age"] != nil {
		t.Fatalf("complete sign-up: got %+v, %v", c, err)
	}
}

// TestConfirmationEmailsAreNotResentAtOnce signs up three times in a row:
// one confirmation goes, through the transactional lane, listed as system
// mail.
func TestConfirmationEmailsAreNotResentAtOnce(t *testing.T) {
	t.Parallel()
	sink := smtptest.Start(t, smtptest.Options{})
	h := newHarness(t)
	h.signIn()
	startLane(t, h)
	ctx := context.Background()
	h.st.CreateRelay(ctx, store.RelayInput{Name: "Sink", Kind: "smtp", Host: sink.Host(), Port: sink.Port(), TLS: "none", MaxConnections: 1, Enabled: true})
	l := publicList(t, h, "double")
	for i := 0; i < 3; i++ {
		formPost(h, "/subscribe/"+itoa(l.ID), url.Values{"email": {"again@example.com"}})
	}
	msgs := sink.Wait(1, 10*time.Second)
	ms, _, err := h.st.Messages(ctx, store.MessageFilter{Kind: store.MessageSystem, Order: store.Newest}, 10, 0)
	if err != nil || len(ms) != 1 || ms[0].ToEmail != "again@example.com" {
		t.Fatalf("system mail: got %+v, %v; want the one confirmation", ms, err)
	}
	waitMessage(t, h, h.apiKey(store.ScopeFull), ms[0].ID, store.MessageSent)
	if n := len(sink.Messages()); n != 1 || len(msgs) != 1 {
		t.Fatalf("confirmation emails for three quick sign-ups: got %d, want 1", n)
	}
	if page := body(t, h.get("/messages?kind=system")); !strings.Contains(page, "again@example.com") {
		t.Errorf("the messages page, system mail: the confirmation is not listed")
	}
}

// TestSignUpsWaitForThePublicAddress posts a sign-up with a forged Host
// header before the public base URL is set: it is refused, nothing is
// stored and no email is queued, and the archive feed is not published.
// Once the base URL is set, the confirmation link leads there, whatever
// Host the visitor sent.
func TestSignUpsWaitForThePublicAddress(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	h.signIn()
	h.st.CreateRelay(ctx, store.RelayInput{Name: "Sink", Kind: "smtp", Host: "127.0.0.1", Port: 25, TLS: "none", MaxConnections: 1, Enabled: true})
	l, err := h.st.CreateList(ctx, store.ListInput{Name: ptrTo("News"), OptIn: ptrTo("double"), Visibility: ptrTo("public")})
	if err != nil {
		t.Fatal(err)
	}
	forged := map[string]string{"Sec-Fetch-Site": "cross-site", "Host": "evil.example"}
	path := "/subscribe/" + itoa(l.ID)
	for _, resp := range []*http.Response{h.request(http.DefaultClient, http.MethodGet, path, nil, forged),
		h.postForm(path, url.Values{"email": {"victim@example.com"}}, forged)} {
		if page := body(t, resp); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(page, "public address") {
			t.Errorf("%s %s without a base URL: got %d, want 503 saying sign-ups wait for the public address", resp.Request.Method, path, resp.StatusCode)
		}
	}
	if _, err := h.st.ContactByEmail(ctx, "victim@example.com"); err != store.ErrNotFound {
		t.Errorf("a refused sign-up was stored: %v", err)
	}
	if ms, _, _ := h.st.Messages(ctx, store.MessageFilter{}, 10, 0); len(ms) != 0 {
		t.Errorf("a refused sign-up queued %d emails", len(ms))
	}
	if resp := h.request(http.DefaultClient, http.MethodGet, "/archive/"+itoa(l.ID)+"/feed.atom", nil, forged); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("feed without a base URL: got %d, want 503", resp.StatusCode)
	}
	if page := body(t, h.get("/lists/"+itoa(l.ID))); !strings.Contains(page, "takes no sign-ups until Herald knows its public address") {
		t.Errorf("the list page does not say why its form is closed")
	}

	h.setBaseURL()
	if resp := h.postForm(path, url.Values{"email": {"reader@example.com"}}, forged); resp.StatusCode != http.StatusOK {
		t.Fatalf("sign-up with a base URL: got %d", resp.StatusCode)
	}
	ms, _, _ := h.st.Messages(ctx, store.MessageFilter{Kind: store.MessageSystem, Order: store.Newest}, 10, 0)
	if len(ms) != 1 {
		t.Fatalf("confirmations queued: got %d, want 1", len(ms))
	}
	m, _ := h.st.Message(ctx, ms[0].ID)
	if !strings.Contains(m.Text, h.ts.URL+"/subscribe/confirm/") || strings.Contains(m.Text, "evil.example") {
		t.Errorf("confirmation text: %q, want a link under the base URL %s", m.Text, h.ts.URL)
	}
	feed := body(t, h.request(http.DefaultClient, http.MethodGet, "/archive/"+itoa(l.ID)+"/feed.atom", nil, forged))
	if !strings.Contains(feed, h.ts.URL+"/archive/") || strings.Contains(feed, "evil.example") {
		t.Errorf("feed: links do not follow the base URL: %.300s", feed)
	}
}
