package outbound

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/mail"
	"strings"
	"testing"

	"herald/store"
)

// FuzzMessageRequest feeds arbitrary bodies of POST /api/v1/messages, with
// attachments and headers, to the transactional queue's checks. They never
// panic; a body they accept has a recipient and a sender, one line of
// subject, attachments within the limits and only headers Herald does not
// write; and a body they refuse says which field is wrong.
func FuzzMessageRequest(f *testing.F) {
	st := testStore(f)
	s := newService(f, st)
	ctx := context.Background()
	if _, err := st.CreateRelay(ctx, store.RelayInput{Name: "Relay", Kind: store.RelaySMTP, Host: "127.0.0.1", Port: 2525, TLS: store.TLSNone,
		MaxConnections: 1, Enabled: true}); err != nil {
		f.Fatal(err)
	}
	if _, err := st.SaveGeneral(ctx, store.General{FromEmail: "shop@shop.example", FromName: "Shop", Timezone: "UTC"}); err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		`{"to":"a@example.com","subject":"Hi","text":"Hello"}`,
		`{"to":"Ann <a@example.com>","from":"x@shop.example","subject":"Receipt","html":"<p>Thanks</p>","headers":{"X-Order-Id":"1001"},` +
			`"attachments":[{"filename":"r.pdf","content_type":"application/pdf","content_base64":"JVBERi0xLjQ="}]}`,
		`{"to":"a@example.com","subject":"Hi","text":"x","headers":{"From":"evil@example.com","X-A\r\nB":"c"}}`,
		`{"to":"a@example.com","subject":"Hi\u202e","text":"x","attachments":[{"filename":"../x","content_base64":"!!"}]}`,
		`{"to":"a@example.com","template_id":1,"subject":"x","data":{"k":[1,2,{"a":null}]}}`,
		`{"to":"","subject":"","idempotency_key":"k\n"}`,
		`{"to":["a@example.com","B <b@example.com>, c@example.com"],"cc":"d@example.com","bcc":["a@example.com",""],"reply_to":["r@x.example","=?utf-8?q?R=C3=A9?= <s@x.example>"],"subject":"Hi","text":"x"}`,
		`{"to":null,"cc":7,"bcc":{"a":1},"subject":"Hi","text":"x"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var b MessageRequest
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if dec.Decode(&b) != nil {
			return
		}
		in, err := s.newMessage(ctx, b)
		var ve *store.ValidationError
		if errors.As(err, &ve) {
			for field, msg := range ve.Fields {
				if field == "" || msg == "" {
					t.Fatalf("%s: refused with an empty field or message: %v", body, ve.Fields)
				}
			}
			return
		}
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if store.CheckEmail(in.ToEmail) != "" || store.CheckEmail(in.FromEmail) != "" {
			t.Fatalf("%s: accepted to %q from %q", body, in.ToEmail, in.FromEmail)
		}
		all := in.All()
		seen := map[string]bool{}
		for _, a := range all {
			if store.CheckEmail(a) != "" || seen[a] || a != store.NormalizeEmail(a) {
				t.Fatalf("%s: accepted the recipient %q among %q", body, a, all)
			}
			seen[a] = true
		}
		r := in.Recipients
		if len(all) > MaxAllRecipients || len(r.To)+1 > MaxRecipients || len(r.Cc) > MaxRecipients || len(r.Bcc) > MaxRecipients {
			t.Fatalf("%s: accepted %d recipients", body, len(all))
		}
		if as, err := mail.ParseAddressList(in.ReplyTo); in.ReplyTo != "" && (err != nil || len(as) > maxReplyTo) {
			t.Fatalf("%s: accepted the reply-to %q", body, in.ReplyTo)
		}
		if strings.ContainsAny(in.Subject, "\r\n\x00") || in.Subject == "" {
			t.Fatalf("%s: accepted the subject %q", body, in.Subject)
		}
		total := 0
		for _, a := range in.Attachments {
			total += len(a.Content)
			if a.Filename == "" || strings.ContainsAny(a.Filename, "/\\\r\n") {
				t.Fatalf("%s: accepted the file name %q", body, a.Filename)
			}
		}
		if len(in.Attachments) > MaxAttachments || total > MaxAttachmentBytes {
			t.Fatalf("%s: accepted %d attachments of %d bytes", body, len(in.Attachments), total)
		}
		for _, h := range in.Headers {
			if strings.EqualFold(h.Name, "From") || strings.ContainsAny(h.Name+h.Value, "\r\n") {
				t.Fatalf("%s: accepted the header %q: %q", body, h.Name, h.Value)
			}
		}
	})
}
