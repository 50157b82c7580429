package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"herald/mailer/smtptest"
	"herald/scheduler/outbound"
	"herald/store"
)

// startLane runs the harness's transactional lane until the test ends.
func startLane(t *testing.T, h *harness) *outbound.Lane {
	t.Helper()
	lane := h.srv.out.Lane()
	runWorker(t, lane)
	return lane
}

// messageHarness is a harness with a lane, a loopback relay and a sender.
func messageHarness(t *testing.T, opts smtptest.Options) (*harness, *smtptest.Server) {
	sink := smtptest.Start(t, opts)
	h := newHarness(t)
	startLane(t, h)
	h.readyToSend(sink, 2, "UTC")
	return h, sink
}

// waitMessage polls the API until a message has the status.
func waitMessage(t *testing.T, h *harness, key string, id int64, status string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, out := h.api(key, http.MethodGet, "/api/v1/messages/"+itoa(id), nil)
		if code != http.StatusOK {
			t.Fatalf("get message %d: got %d %v", id, code, out)
		}
		if m := audData(t, out); m["status"] == status {
			return m
		} else if time.Now().After(deadline) {
			t.Fatalf("message %d: got status %v (%v), want %s", id, m["status"], m["last_response"], status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func eventStatuses(m map[string]any) string {
	var out []string
	evs, _ := m["events"].([]any)
	for _, e := range evs {
		out = append(out, e.(map[string]any)["status"].(string))
	}
	return strings.Join(out, " ")
}

func TestAPIMessageSendsOnceAndShowsItsHistory(t *testing.T) {
	t.Parallel()
	h, sink := messageHarness(t, smtptest.Options{})
	key := h.apiKey(store.ScopeFull)
	payload := map[string]any{"to": "Buyer <Buyer@Example.com>", "subject": "Your receipt", "html": "<p>Thanks for order <b>1001</b>.</p>",
		"idempotency_key": "order-1001", "headers": map[string]string{"X-Order-Id": "1001"}}
	code, out := h.api(key, http.MethodPost, "/api/v1/messages", payload)
	if code != http.StatusAccepted || audData(t, out)["status"] != "queued" {
		t.Fatalf("create: got %d %v, want 202 queued", code, out)
	}
	id := audID(audData(t, out))
	code, out = h.api(key, http.MethodPost, "/api/v1/messages", payload)
	if code != http.StatusOK || audID(audData(t, out)) != id {
		t.Errorf("replay: got %d %v, want 200 with id %d", code, out, id)
	}
	m := waitMessage(t, h, key, id, "sent")
	if m["attempts"] != 1.0 || m["last_code"] != 250.0 || m["sent_at"] == nil || m["to"] != `"Buyer" <buyer@example.com>` ||
		m["from"] != `"Bakery" <news@bakery.test>` || eventStatuses(m) != "queued sent" {
		t.Errorf("sent message: got %v", m)
	}
	// The key answers the same after sending too, and nothing goes twice.
	if code, out := h.api(key, http.MethodPost, "/api/v1/messages", payload); code != http.StatusOK || audData(t, out)["status"] != "sent" {
		t.Errorf("replay after sending: got %d %v, want 200 sent", code, out)
	}
	msgs := sink.Messages()
	if len(msgs) != 1 || msgs[0].To[0] != "buyer@example.com" {
		t.Fatalf("delivered: got %d messages, want 1 to buyer@example.com", len(msgs))
	}
	pm, err := mail.ReadMessage(bytes.NewReader(msgs[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	if pm.Header.Get("X-Order-Id") != "1001" || pm.Header.Get("Subject") != "Your receipt" || pm.Header.Get("List-Unsubscribe") != "" {
		t.Errorf("headers: got %v", pm.Header)
	}
	if !strings.HasPrefix(pm.Header.Get("Content-Type"), "multipart/alternative") {
		t.Errorf("Content-Type: got %q, want the HTML with a text part made from it", pm.Header.Get("Content-Type"))
	}

	code, out = h.api(key, http.MethodGet, "/api/v1/messages?status=sent", nil)
	if rows, _ := out["data"].([]any); code != http.StatusOK || len(rows) != 1 || out["meta"].(map[string]any)["total"] != 1.0 {
		t.Errorf("list sent: got %d %v", code, out)
	}
	if code, out := h.api(key, http.MethodGet, "/api/v1/messages?status=failed", nil); code != http.StatusOK || len(out["data"].([]any)) != 0 {
		t.Errorf("list failed: got %d %v, want none", code, out)
	}
	if code, _ := h.api(key, http.MethodGet, "/api/v1/messages?status=lost", nil); code != http.StatusUnprocessableEntity {
		t.Errorf("list with a bad status: got %d, want 422", code)
	}
	if code, _ := h.api(key, http.MethodGet, "/api/v1/messages/999", nil); code != http.StatusNotFound {
		t.Errorf("missing message: got %d, want 404", code)
	}
	if code, _ := h.api(h.apiKey(store.ScopeRead), http.MethodPost, "/api/v1/messages", payload); code != http.StatusForbidden {
		t.Errorf("create with a read-only key: got %d, want 403", code)
	}
}

// TestAPIMessageToSeveralRecipients sends one message to two To, a Cc and
// a Bcc with two reply-to addresses, and reads them back.
func TestAPIMessageToSeveralRecipients(t *testing.T) {
	t.Parallel()
	h, sink := messageHarness(t, smtptest.Options{})
	key := h.apiKey(store.ScopeSend)
	code, out := h.api(key, http.MethodPost, "/api/v1/messages", map[string]any{"to": []string{"ann@example.com", "Bob <bob@example.com>"},
		"cc": "Cy Müller <cy@example.com>", "bcc": []string{"records@bakery.test"}, "reply_to": []string{"help@bakery.test", "orders@bakery.test"},
		"subject": "Your order", "text": "On its way."})
	if code != http.StatusAccepted {
		t.Fatalf("create: got %d %v", code, out)
	}
	m := waitMessage(t, h, h.apiKey(store.ScopeRead), audID(audData(t, out)), "sent")
	r, _ := m["recipients"].(map[string]any)
	if fmt.Sprint(r["to"], r["cc"], r["bcc"]) != `[ann@example.com "Bob" <bob@example.com>] ["Cy Müller" <cy@example.com>] [records@bakery.test]` ||
		m["to"] != "ann@example.com" || m["reply_to"] != "help@bakery.test, orders@bakery.test" {
		t.Errorf("read back: got to %v, recipients %v, reply_to %v", m["to"], r, m["reply_to"])
	}
	msgs := sink.Messages()
	if len(msgs) != 1 || strings.Join(msgs[0].To, " ") != "ann@example.com bob@example.com cy@example.com records@bakery.test" {
		t.Fatalf("delivered: got %d messages, want one to all four", len(msgs))
	}
	pm, err := mail.ReadMessage(bytes.NewReader(msgs[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	if to, cc := pm.Header.Get("To"), pm.Header.Get("Cc"); to != `<ann@example.com>, "Bob" <bob@example.com>` || cc != "=?utf-8?q?Cy_M=C3=BCller?= <cy@example.com>" || pm.Header.Get("Bcc") != "" {
		t.Errorf("headers: got To %q, Cc %q", to, cc)
	}
}

func createTemplate(t *testing.T, h *harness, name, kind, subject, body string, essential bool) store.Template {
	t.Helper()
	format := "markdown"
	tpl, err := h.st.CreateTemplate(context.Background(), store.TemplateInput{Name: &name, Kind: &kind, Format: &format, Subject: &subject,
		Body: &body, Essential: &essential}, h.srv.checkTemplate(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func TestAPIMessageFromATemplate(t *testing.T) {
	t.Parallel()
	h, sink := messageHarness(t, smtptest.Options{})
	key := h.apiKey(store.ScopeFull)
	receipt := createTemplate(t, h, "Receipt", store.KindTransactional, "Order {{.Data.order_id}}",
		"Hello {{.Contact.FirstName}}, your total is **{{.Data.total}}**.{{if .Data.items}} First: {{index .Data.items 2}}{{end}}", false)
	email, first := "jane@example.com", "Jane"
	if _, _, err := h.st.CreateContact(context.Background(), store.ContactInput{Email: &email, FirstName: &first, Source: "test"}, false); err != nil {
		t.Fatal(err)
	}
	code, out := h.api(key, http.MethodPost, "/api/v1/messages", map[string]any{"to": "jane@example.com", "template_id": receipt.ID,
		"data": map[string]any{"order_id": "A-17", "total": "€12.50"}})
	if code != http.StatusAccepted {
		t.Fatalf("create: got %d %v", code, out)
	}
	m := waitMessage(t, h, key, audID(audData(t, out)), "sent")
	if m["subject"] != "Order A-17" || m["template_id"] != float64(receipt.ID) {
		t.Errorf("message: got %v", m)
	}
	msg := string(sink.Messages()[0].Data)
	if !strings.Contains(msg, "Subject: Order A-17") || !strings.Contains(msg, "Hello Jane, your total is") {
		t.Errorf("delivered: want the template rendered with the data and the contact:\n%.800s", msg)
	}
	// To several, the one body shows nobody's own fields.
	code, out = h.api(key, http.MethodPost, "/api/v1/messages", map[string]any{"to": "jane@example.com", "bcc": "stranger@example.com",
		"template_id": receipt.ID, "data": map[string]any{"order_id": "A-18", "total": "€1"}})
	if code != http.StatusAccepted {
		t.Fatalf("create to several: got %d %v", code, out)
	}
	waitMessage(t, h, key, audID(audData(t, out)), "sent")
	if msg := string(sink.Messages()[1].Data); !strings.Contains(msg, "Hello , your total is") || strings.Contains(msg, "Jane") {
		t.Errorf("delivered to several: want the template without the contact's fields:\n%.800s", msg)
	}

	campaignTpl := createTemplate(t, h, "Design", store.KindCampaign, "News", "Hello {{.Contact.FirstName}}", false)
	for name, tc := range map[string]struct {
		payload map[string]any
		field   string
	}{
		"campaign template": {map[string]any{"to": "a@example.com", "template_id": campaignTpl.ID}, "template_id"},
		"missing template":  {map[string]any{"to": "a@example.com", "template_id": 999}, "template_id"},
		"template and body": {map[string]any{"to": "a@example.com", "template_id": receipt.ID, "subject": "Hi"}, "template_id"},
		"data that breaks":  {map[string]any{"to": "a@example.com", "template_id": receipt.ID, "data": map[string]any{"items": []string{"one"}}}, "data"},
	} {
		code, out := h.api(key, http.MethodPost, "/api/v1/messages", tc.payload)
		if _, f := audError(out); code != http.StatusUnprocessableEntity || f[tc.field] == nil {
			t.Errorf("%s: got %d %v, want 422 naming %s", name, code, out, tc.field)
		}
	}
}

func TestAPIMessageRespectsSuppressionsUnlessEssential(t *testing.T) {
	t.Parallel()
	h, sink := messageHarness(t, smtptest.Options{})
	key := h.apiKey(store.ScopeFull)
	ctx := context.Background()
	if _, _, err := h.st.AddSuppression(ctx, store.SuppressionInput{Kind: store.SuppressEmail, Value: "gone@example.com", Reason: "hard bounce"}); err != nil {
		t.Fatal(err)
	}
	email, status := "left@example.com", store.StatusUnsubscribed
	if _, _, err := h.st.CreateContact(ctx, store.ContactInput{Email: &email, Status: &status, Source: "test"}, false); err != nil {
		t.Fatal(err)
	}
	reset := createTemplate(t, h, "Password reset", store.KindTransactional, "Reset your password", "Follow {{.Data.link}}", true)
	news := createTemplate(t, h, "Order shipped", store.KindTransactional, "Shipped", "On its way.", false)
	var suppressed []int64
	for _, to := range []string{"gone@example.com", "left@example.com"} {
		code, out := h.api(key, http.MethodPost, "/api/v1/messages", map[string]any{"to": to, "template_id": news.ID})
		if code != http.StatusAccepted || audData(t, out)["status"] != "suppressed" {
			t.Fatalf("to %s: got %d %v, want 202 suppressed", to, code, out)
		}
		suppressed = append(suppressed, audID(audData(t, out)))
	}
	code, out := h.api(key, http.MethodPost, "/api/v1/messages", map[string]any{"to": "gone@example.com", "template_id": reset.ID,
		"data": map[string]any{"link": "https://shop.example/reset/abc"}})
	if code != http.StatusAccepted || audData(t, out)["status"] != "queued" {
		t.Fatalf("essential: got %d %v, want 202 queued", code, out)
	}
	waitMessage(t, h, key, audID(audData(t, out)), "sent")
	for i, id := range suppressed {
		_, out := h.api(key, http.MethodGet, "/api/v1/messages/"+itoa(id), nil)
		m := audData(t, out)
		want := []string{"the email gone@example.com is suppressed: hard bounce", "the contact unsubscribed from all email"}[i]
		if m["status"] != "suppressed" || !strings.Contains(m["last_response"].(string), want) || m["attempts"] != 0.0 || eventStatuses(m) != "suppressed" {
			t.Errorf("suppressed message %d: got %v, want the reason %q", id, m, want)
		}
	}
	msgs := sink.Messages()
	if len(msgs) != 1 || !strings.Contains(string(msgs[0].Data), "Subject: Reset your password") {
		t.Errorf("delivered: got %d messages, want only the password reset", len(msgs))
	}
}

func TestAPIMessageAttachmentsArrive(t *testing.T) {
	t.Parallel()
	h, sink := messageHarness(t, smtptest.Options{})
	key := h.apiKey(store.ScopeFull)
	pdf := bytes.Repeat([]byte("%PDF-1.4\x00\x01\xfe\xff"), 500)
	code, out := h.api(key, http.MethodPost, "/api/v1/messages", map[string]any{"to": "buyer@example.com", "subject": "Invoice", "text": "Attached.",
		"attachments": []map[string]string{
			{"filename": "invoice.pdf", "content_type": "application/pdf", "content_base64": base64.StdEncoding.EncodeToString(pdf)},
			{"filename": "Quittung für Jürgen.txt", "content_base64": base64.StdEncoding.EncodeToString([]byte("Grüße"))},
		}})
	if code != http.StatusAccepted {
		t.Fatalf("create: got %d %v", code, out)
	}
	m := waitMessage(t, h, key, audID(audData(t, out)), "sent")
	atts, _ := m["attachments"].([]any)
	if len(atts) != 2 || atts[0].(map[string]any)["size"] != float64(len(pdf)) || atts[1].(map[string]any)["content_type"] != "text/plain; charset=utf-8" {
		t.Errorf("attachments: got %v", atts)
	}
	pm, err := mail.ReadMessage(bytes.NewReader(sink.Messages()[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(pm.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(pm.Body, params["boundary"])
	got := map[string][]byte{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = p
		if p.Header.Get("Content-Transfer-Encoding") == "base64" {
			r = base64.NewDecoder(base64.StdEncoding, p)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		got[p.FileName()] = b
	}
	if len(got) != 3 || !bytes.Equal(got["invoice.pdf"], pdf) || string(got["Quittung für Jürgen.txt"]) != "Grüße" || string(got[""]) != "Attached." {
		t.Errorf("parts: got %d, names and sizes %v", len(got), sizes(got))
	}
}

func sizes(parts map[string][]byte) map[string]int {
	out := map[string]int{}
	for k, v := range parts {
		out[k] = len(v)
	}
	return out
}

func TestAPIMessageValidation(t *testing.T) {
	t.Parallel()
	sink := smtptest.Start(t, smtptest.Options{})
	h := newHarness(t)
	key := h.apiKey(store.ScopeFull)
	// No sender and no relay yet: both are named.
	code, out := h.api(key, http.MethodPost, "/api/v1/messages", map[string]any{"to": "a@example.com", "subject": "Hi", "text": "Hello"})
	if _, f := audError(out); code != http.StatusUnprocessableEntity || f["from"] == nil || f["relay_id"] == nil {
		t.Fatalf("before setup: got %d %v, want 422 naming from and relay_id", code, out)
	}
	h.readyToSend(sink, 1, "UTC")
	b64 := base64.StdEncoding.EncodeToString
	many := make([]map[string]string, 21)
	for i := range many {
		many[i] = map[string]string{"filename": fmt.Sprintf("f%d.txt", i), "content_base64": b64([]byte("x"))}
	}
	big := b64(bytes.Repeat([]byte{7}, 5<<20+512<<10))
	ok := func(extra map[string]any) map[string]any {
		p := map[string]any{"to": "a@example.com", "subject": "Hi", "text": "Hello"}
		for k, v := range extra {
			p[k] = v
		}
		return p
	}
	for _, tc := range []struct {
		name    string
		payload map[string]any
		field   string
	}{
		{"no recipient", map[string]any{"subject": "Hi", "text": "Hello"}, "to"},
		{"bad recipient", ok(map[string]any{"to": "not an address"}), "to"},
		{"bad recipient in a list", ok(map[string]any{"to": []string{"a@example.com", "b@"}}), "to[1]"},
		{"empty entry", ok(map[string]any{"cc": []string{"", "b@example.com"}}), "cc[0]"},
		{"bad cc in a comma list", ok(map[string]any{"cc": "b@example.com, nobody"}), "cc"},
		{"51 in bcc", ok(map[string]any{"bcc": addressList("b", 51)}), "bcc"},
		{"over 100 in all", ok(map[string]any{"to": addressList("t", 50), "cc": addressList("c", 50), "bcc": []string{"z1@example.com"}}), "to"},
		{"only cc", map[string]any{"cc": "a@example.com", "subject": "Hi", "text": "Hello"}, "to"},
		{"bad reply-to in a list", ok(map[string]any{"reply_to": []string{"a@example.com", "nobody"}}), "reply_to[1]"},
		{"11 reply-to", ok(map[string]any{"reply_to": addressList("r", 11)}), "reply_to"},
		{"a group names nobody", ok(map[string]any{"to": "undisclosed-recipients:;"}), "to"},
		{"a group in bcc", ok(map[string]any{"bcc": []string{"a@example.com", "friends:;"}}), "bcc[1]"},
		{"a name with a right-to-left override", ok(map[string]any{"cc": "Bob\u202e <b@example.com>"}), "cc"},
		{"a long name", ok(map[string]any{"cc": strings.Repeat("n", 201) + " <b@example.com>"}), "cc"},
		{"too many in one entry", ok(map[string]any{"cc": strings.Join(addressList("c", 51), ", ")}), "cc"},
		{"bad sender", ok(map[string]any{"from": "nobody"}), "from"},
		{"bad reply-to", ok(map[string]any{"reply_to": "nobody"}), "reply_to"},
		{"no subject", map[string]any{"to": "a@example.com", "text": "Hello"}, "subject"},
		{"subject with a right-to-left override", ok(map[string]any{"subject": "Invoice\u202efdp.exe"}), "subject"},
		{"recipient with a zero-width space", ok(map[string]any{"to": "a\u200b@example.com"}), "to"},
		{"no body", map[string]any{"to": "a@example.com", "subject": "Hi"}, "html"},
		{"reserved header", ok(map[string]any{"headers": map[string]string{"From": "evil@example.com"}}), "headers.From"},
		{"header on two lines", ok(map[string]any{"headers": map[string]string{"X-Note": "a\r\nBcc: x@example.com"}}), "headers.X-Note"},
		{"bad header name", ok(map[string]any{"headers": map[string]string{"X Note": "a"}}), "headers.X Note"},
		{"header with hidden characters", ok(map[string]any{"headers": map[string]string{"X-Note": "v\u202e\u0000"}}), "headers.X-Note"},
		{"file name with a right-to-left override", ok(map[string]any{"attachments": []map[string]string{{"filename": "invoice\u202efdp.exe", "content_base64": b64([]byte("x"))}}}), "attachments[0].filename"},
		{"bad base64", ok(map[string]any{"attachments": []map[string]string{{"filename": "a.pdf", "content_base64": "not base64!"}}}), "attachments[0].content_base64"},
		{"no file name", ok(map[string]any{"attachments": []map[string]string{{"content_base64": b64([]byte("x"))}}}), "attachments[0].filename"},
		{"bad content type", ok(map[string]any{"attachments": []map[string]string{{"filename": "a", "content_type": "pdf", "content_base64": ""}}}), "attachments[0].content_type"},
		{"too many files", ok(map[string]any{"attachments": many}), "attachments"},
		{"too large", ok(map[string]any{"attachments": []map[string]string{{"filename": "a.bin", "content_base64": big}, {"filename": "b.bin", "content_base64": big}}}), "attachments"},
		{"missing relay", ok(map[string]any{"relay_id": 999}), "relay_id"},
		{"long key", ok(map[string]any{"idempotency_key": strings.Repeat("k", 201)}), "idempotency_key"},
	} {
		code, out := h.api(key, http.MethodPost, "/api/v1/messages", tc.payload)
		if _, f := audError(out); code != http.StatusUnprocessableEntity || f[tc.field] == nil {
			t.Errorf("%s: got %d %.300v, want 422 naming %s", tc.name, code, out, tc.field)
		}
	}
	if code, out := h.api(key, http.MethodPost, "/api/v1/messages", ok(map[string]any{"attachment": "x"})); code != http.StatusBadRequest {
		t.Errorf("unknown field: got %d %v, want 400", code, out)
	}
	// Thousands of bad entries get one short answer, not one per entry.
	junk := make([]string, 5000)
	for i := range junk {
		junk[i] = "x"
	}
	code, out = h.api(key, http.MethodPost, "/api/v1/messages", ok(map[string]any{"bcc": junk}))
	if _, f := audError(out); code != http.StatusUnprocessableEntity || len(f) != 1 || f["bcc"] == nil {
		t.Errorf("5,000 bad entries: got %d with %d field errors, want 422 naming bcc alone", code, len(f))
	}
	code, out = h.api(key, http.MethodPost, "/api/v1/messages", ok(map[string]any{"to": 7}))
	if _, f := audError(out); code != http.StatusBadRequest || f["to"] != "Must be an address or a list of addresses." {
		t.Errorf("to as a number: got %d %v, want 400 saying it takes an address or a list", code, out)
	}
	if n, _, _ := h.st.Messages(context.Background(), store.MessageFilter{}, 10, 0); len(n) != 0 {
		t.Errorf("messages after refused requests: got %d, want none", len(n))
	}
}

// addressList is n distinct addresses, each starting with prefix.
func addressList(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d@example.com", prefix, i)
	}
	return out
}

// TestMessageLaneIsNotHeldUpByACampaign blocks a campaign's only connection
// at the relay and sends a message meanwhile: it arrives while the campaign
// still waits.
func TestMessageLaneIsNotHeldUpByACampaign(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	blocked := make(chan struct{}, 10)
	h, _, sink := sendingHarness(t, smtptest.Options{RejectRcpt: func(to string) error {
		if strings.HasPrefix(to, "reader") {
			blocked <- struct{}{}
			<-release
		}
		return nil
	}})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	startLane(t, h)
	h.readyToSend(sink, 1, "UTC")
	key := h.apiKey(store.ScopeFull)
	ctx := context.Background()
	list, _ := h.st.CreateList(ctx, store.ListInput{Name: new("News")})
	for i := range 3 {
		e := fmt.Sprintf("reader%d@example.com", i)
		if _, _, err := h.st.CreateContact(ctx, store.ContactInput{Email: &e, Lists: []int64{list.ID}, Source: "test"}, false); err != nil {
			t.Fatal(err)
		}
	}
	code, out := h.api(key, http.MethodPost, "/api/v1/campaigns", map[string]any{"name": "News", "subject": "News", "text": "Hello", "list_ids": []int64{list.ID}})
	if code != http.StatusCreated {
		t.Fatalf("create campaign: got %d %v", code, out)
	}
	campaign := "/api/v1/campaigns/" + itoa(audID(audData(t, out)))
	if code, out := h.api(key, http.MethodPost, campaign+"/send", nil); code != http.StatusAccepted {
		t.Fatalf("send campaign: got %d %v", code, out)
	}
	select {
	case <-blocked:
	case <-time.After(15 * time.Second):
		t.Fatal("the campaign never reached the relay")
	}

	code, out = h.api(key, http.MethodPost, "/api/v1/messages", map[string]any{"to": "buyer@example.com", "subject": "Receipt", "text": "Thanks."})
	if code != http.StatusAccepted {
		t.Fatalf("create message: got %d %v", code, out)
	}
	waitMessage(t, h, key, audID(audData(t, out)), "sent")
	if msgs := sink.Messages(); len(msgs) != 1 || msgs[0].To[0] != "buyer@example.com" {
		t.Fatalf("delivered while the campaign is blocked: got %d messages, want the receipt alone", len(msgs))
	}
	if _, out := h.api(key, http.MethodGet, campaign+"/stats", nil); audData(t, out)["sent"] != 0.0 {
		t.Errorf("campaign: got %v sent, want none while it is blocked", audData(t, out)["sent"])
	}

	unblock()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, out := h.api(key, http.MethodGet, campaign, nil); audData(t, out)["status"] == "sent" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the campaign never finished once unblocked")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(sink.Messages()); n != 4 {
		t.Errorf("delivered in all: got %d, want the receipt and 3 campaign messages", n)
	}
}

func TestMessagePages(t *testing.T) {
	t.Parallel()
	h, _ := messageHarness(t, smtptest.Options{})
	key := h.apiKey(store.ScopeFull)
	if _, _, err := h.st.AddSuppression(context.Background(), store.SuppressionInput{Kind: store.SuppressEmail, Value: "gone@example.com"}); err != nil {
		t.Fatal(err)
	}
	code, out := h.api(key, http.MethodPost, "/api/v1/messages", map[string]any{"to": "buyer@example.com", "subject": "Your <receipt>",
		"html": "<p>Thanks</p>", "headers": map[string]string{"X-Order-Id": "1001"},
		"attachments": []map[string]string{{"filename": "invoice.pdf", "content_base64": base64.StdEncoding.EncodeToString([]byte("%PDF"))}}})
	if code != http.StatusAccepted {
		t.Fatalf("create: got %d %v", code, out)
	}
	id := audID(audData(t, out))
	waitMessage(t, h, key, id, "sent")
	if code, _ := h.api(key, http.MethodPost, "/api/v1/messages", map[string]any{"to": "gone@example.com", "subject": "Shipped", "text": "Soon"}); code != http.StatusAccepted {
		t.Fatalf("create the suppressed one: got %d", code)
	}
	h.signIn()

	page := body(t, h.get("/messages"))
	for _, want := range []string{`<a class="nav-link active" aria-current="page" href="/campaigns">Campaigns</a>`,
		`<a class="tab active" aria-current="page" href="/messages">Transactional</a>`, `href="/campaigns">Campaigns</a>`,
		`href="/messages/` + itoa(id) + `">buyer@example.com</a>`, "Your &lt;receipt&gt;", "gone@example.com"} {
		if !strings.Contains(page, want) {
			t.Errorf("list: want %s in the page", want)
		}
	}
	page = body(t, h.get("/messages?status=suppressed"))
	if !strings.Contains(page, "gone@example.com") || strings.Contains(page, "buyer@example.com") {
		t.Errorf("suppressed filter: want only gone@example.com")
	}

	resp := h.get("/messages/" + itoa(id))
	page = body(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("message page: got %d", resp.StatusCode)
	}
	for _, want := range []string{"invoice.pdf", "X-Order-Id", `<iframe class="preview-frame" sandbox="" src="/templates/preview/`,
		`id="message-history"`, ">queued</span>", ">sent</span>", "250"} {
		if !strings.Contains(page, want) {
			t.Errorf("message page: want %s in it", want)
		}
	}
	if resp := h.get("/messages/999"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("missing message page: got %d, want 404", resp.StatusCode)
	}
}

// TestSendMessageFromTheAdmin sends one message with the form on the
// Transactional page, and names what is wrong beside its field.
func TestSendMessageFromTheAdmin(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signIn()
	sink := smtptest.Start(t, smtptest.Options{})
	h.readyToSend(sink, 1, "UTC")
	form := url.Values{"to": {"buyer@example.com"}, "subject": {"Your order"}, "text": {"It ships today."}, "data": {"{not json"}}
	resp := h.postForm("/messages", form, nil)
	if page := body(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Write a JSON object") || !strings.Contains(page, `value="buyer@example.com"`) {
		t.Fatalf("bad data: got %d", resp.StatusCode)
	}
	form.Set("data", "")
	form.Set("to", "nobody")
	if resp := h.postForm("/messages", form, nil); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad address: got %d", resp.StatusCode)
	}
	form.Set("to", "buyer@example.com")
	form.Set("bcc", "records@bakery.test, nobody")
	if page := body(t, h.postForm("/messages", form, nil)); !strings.Contains(page, `value="records@bakery.test, nobody"`) {
		t.Fatalf("bad bcc: the form does not come back as typed")
	}
	form.Set("to", "buyer@example.com, Second Buyer <second@example.com>")
	form.Set("cc", "")
	form.Set("bcc", "records@bakery.test")
	resp = h.postForm("/messages", form, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/messages/1" {
		t.Fatalf("send: got %d to %q: %s", resp.StatusCode, resp.Header.Get("Location"), body(t, resp))
	}
	m, err := h.st.Message(context.Background(), 1)
	if err != nil || m.ToEmail != "buyer@example.com" || m.Subject != "Your order" || m.Status != store.MessageQueued ||
		len(m.Recipients.To) != 1 || len(m.Recipients.Bcc) != 1 || len(m.Recipients.Cc) != 0 {
		t.Errorf("stored: %+v %v", m, err)
	}
	page := body(t, h.get("/messages/1"))
	if !strings.Contains(page, "Message queued.") {
		t.Errorf("the message's page lacks the flash")
	}
	if !strings.Contains(page, "buyer@example.com, &#34;Second Buyer&#34; &lt;second@example.com&gt;") || !strings.Contains(page, "<dt>Bcc</dt><dd>records@bakery.test</dd>") {
		t.Errorf("the message's page does not list its recipients")
	}
	if list := body(t, h.get("/messages")); !strings.Contains(list, "buyer@example.com and 2 more") {
		t.Errorf("the log does not say the message has more recipients")
	}
}

// TestMessageLabelsLogAndStats sends messages with a category, tags,
// metadata and a priority, one of them later, and finds them in the log by
// each, with their counts and their size.
func TestMessageLabelsLogAndStats(t *testing.T) {
	t.Parallel()
	h, sink := messageHarness(t, smtptest.Options{})
	key := h.apiKey(store.ScopeFull)
	send := func(p map[string]any) int64 {
		t.Helper()
		code, out := h.api(key, http.MethodPost, "/api/v1/messages", p)
		if code != http.StatusAccepted {
			t.Fatalf("send %v: got %d %v", p, code, out)
		}
		return audID(audData(t, out))
	}
	receipt := send(map[string]any{"to": "ann@example.com", "subject": "Receipt", "text": "Paid", "category": "Billing", "priority": "high",
		"tags": []string{"receipt", "eu", "receipt"}, "metadata": map[string]string{"order_id": "A-1001"}})
	reset := send(map[string]any{"to": "bob@example.com", "subject": "Reset", "text": "Here", "category": "auth"})
	later := send(map[string]any{"to": "cat@example.com", "subject": "Reminder", "text": "Soon", "category": "billing",
		"send_at": time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339)})
	m := waitMessage(t, h, key, receipt, "sent")
	if m["category"] != "billing" || m["priority"] != "high" || fmt.Sprint(m["tags"]) != "[receipt eu]" ||
		m["metadata"].(map[string]any)["order_id"] != "A-1001" || m["size"].(float64) < 100 {
		t.Errorf("the receipt: got %v", m)
	}
	waitMessage(t, h, key, reset, "sent")
	_, out := h.api(key, http.MethodGet, "/api/v1/messages/"+itoa(later), nil)
	if l := audData(t, out); l["status"] != "queued" || l["next_attempt_at"] == nil {
		t.Errorf("a message for later: got %v, want it queued with its time", l)
	}
	if n := len(sink.Messages()); n != 2 {
		t.Errorf("sent: got %d messages, want 2: the third waits for its time", n)
	}

	for query, want := range map[string]int{"category=billing": 2, "category=auth": 1, "tag=eu": 1, "tag=none": 0, "to=bo": 1, "to=ann%40example.com": 1} {
		code, out := h.api(key, http.MethodGet, "/api/v1/messages?"+query, nil)
		if items := out["data"].([]any); code != http.StatusOK || len(items) != want {
			t.Errorf("messages?%s: got %d, %d items, want %d", query, code, len(items), want)
		}
	}
	code, out := h.api(key, http.MethodGet, "/api/v1/messages/stats", nil)
	st := audData(t, out)
	if code != http.StatusOK || st["by_status"].(map[string]any)["sent"] != 2.0 || st["by_status"].(map[string]any)["queued"] != 1.0 {
		t.Fatalf("stats: got %d %v", code, out)
	}
	cats := st["by_category"].([]any)
	if first := cats[0].(map[string]any); len(cats) != 2 || first["category"] != "billing" || first["total"] != 2.0 {
		t.Errorf("stats by category: got %v", cats)
	}
	if days := st["by_day"].([]any); len(days) != 1 || days[0].(map[string]any)["total"] != 3.0 {
		t.Errorf("stats by day: got %v", days)
	}

	for field, p := range map[string]map[string]any{
		"priority":   {"to": "a@example.com", "subject": "x", "text": "x", "priority": "urgent"},
		"category":   {"to": "a@example.com", "subject": "x", "text": "x", "category": "no spaces please"},
		"tags":       {"to": "a@example.com", "subject": "x", "text": "x", "tags": []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"}},
		"tags[0]":    {"to": "a@example.com", "subject": "x", "text": "x", "tags": []string{""}},
		"metadata.k": {"to": "a@example.com", "subject": "x", "text": "x", "metadata": map[string]string{"k": strings.Repeat("v", 501)}},
		"send_at":    {"to": "a@example.com", "subject": "x", "text": "x", "send_at": time.Now().Add(40 * 24 * time.Hour).UTC().Format(time.RFC3339)},
	} {
		code, out := h.api(key, http.MethodPost, "/api/v1/messages", p)
		if _, f := audError(out); code != http.StatusUnprocessableEntity || f[field] == nil {
			t.Errorf("bad %s: got %d %v, want 422 naming it", field, code, out)
		}
	}

	// The page shows the filters and the counts.
	h.signIn()
	page := body(t, h.get("/messages?category=billing"))
	for _, want := range []string{`name="category" type="text" value="billing"`, "2 messages", "Receipt", "Reminder"} {
		if !strings.Contains(page, want) {
			t.Errorf("log page: want %q", want)
		}
	}
	if strings.Contains(page, ">Reset<") {
		t.Errorf("log page: an auth message in the billing list")
	}
}
