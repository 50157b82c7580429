package mailer

import (
	"bytes"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

var fixedDate = time.Date(2024, time.March, 5, 14, 7, 9, 0, time.FixedZone("CET", 3600))

// longLine is longer than the 76 characters quoted-printable allows on one line.
const longLine = "Dies ist eine sehr lange Zeile mit Umlauten (äöü) und noch mehr Text, damit sie weit über sechsundsiebzig Zeichen hinausgeht."

func testMessage() Message {
	return Message{
		From:      mail.Address{Name: "Zoë Herald", Address: "news@example.org"},
		To:        mail.Address{Name: "Jürgen Leser", Address: "juergen@example.net"},
		Subject:   "Grüße – test",
		Text:      "Hallo Jürgen,\n\n" + longLine + "\nTschüss\n",
		Date:      fixedDate,
		MessageID: "campaign-7.subscriber-42@example.org",
	}
}

func readMessage(t *testing.T, b []byte) *mail.Message {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("mail.ReadMessage: got %v, want nil\n%s", err, b)
	}
	return m
}

// decodeBody undoes the quoted-printable body and the CRLF that Bytes adds
// after it.
func decodeBody(t *testing.T, m *mail.Message) string {
	t.Helper()
	b, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		t.Fatalf("decode quoted-printable: got %v, want nil", err)
	}
	return strings.TrimSuffix(string(b), "\r\n")
}

func TestMessageBytesHeaders(t *testing.T) {
	t.Parallel()
	msg := testMessage()
	m := readMessage(t, msg.Bytes())

	date, err := m.Header.Date()
	if err != nil {
		t.Fatalf("Date header %q: got %v, want nil", m.Header.Get("Date"), err)
	}
	if !date.Equal(fixedDate) {
		t.Errorf("Date: got %v, want %v", date, fixedDate)
	}

	addrs := []struct {
		key  string
		want mail.Address
	}{
		{"From", msg.From},
		{"To", msg.To},
	}
	for _, a := range addrs {
		t.Run(a.key, func(t *testing.T) {
			list, err := m.Header.AddressList(a.key)
			if err != nil {
				t.Fatalf("%s %q: got %v, want nil", a.key, m.Header.Get(a.key), err)
			}
			if len(list) != 1 || *list[0] != a.want {
				t.Errorf("%s: got %v, want [%v]", a.key, list, a.want)
			}
		})
	}

	fixed := []struct{ key, want string }{
		{"Message-Id", "<campaign-7.subscriber-42@example.org>"},
		{"MIME-Version", "1.0"},
		{"Content-Type", "text/plain; charset=utf-8"},
		{"Content-Transfer-Encoding", "quoted-printable"},
	}
	for _, f := range fixed {
		t.Run(f.key, func(t *testing.T) {
			if got := m.Header.Get(f.key); got != f.want {
				t.Errorf("%s: got %q, want %q", f.key, got, f.want)
			}
		})
	}

	mediatype, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("ParseMediaType: got %v, want nil", err)
	}
	if mediatype != "text/plain" || params["charset"] != "utf-8" {
		t.Errorf("Content-Type: got %v %v, want text/plain charset=utf-8", mediatype, params)
	}
}

func TestMessageBytesSubject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		subject string
		want    string
		encoded bool
	}{
		{"ascii", "Hello there", "Hello there", false},
		{"non-ascii", "Grüße – test", "Grüße – test", true},
		{"long non-ascii", strings.Repeat("Grüße aus Köln, ", 8), strings.TrimSpace(strings.Repeat("Grüße aus Köln, ", 8)), true},
		{"line breaks collapse", "Spring\r\nBcc: victim@example.com", "Spring Bcc: victim@example.com", false},
		{"extra spaces collapse", "  too   many\tspaces ", "too many spaces", false},
	}
	var dec mime.WordDecoder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := testMessage()
			msg.Subject = tt.subject
			m := readMessage(t, msg.Bytes())
			raw := m.Header.Get("Subject")
			if got := strings.HasPrefix(raw, "=?utf-8?q?"); got != tt.encoded {
				t.Errorf("raw Subject %q encoded: got %v, want %v", raw, got, tt.encoded)
			}
			got, err := dec.DecodeHeader(raw)
			if err != nil {
				t.Fatalf("DecodeHeader(%q): got %v, want nil", raw, err)
			}
			if got != tt.want {
				t.Errorf("Subject: got %q, want %q", got, tt.want)
			}
			if bcc := m.Header.Get("Bcc"); bcc != "" {
				t.Errorf("Bcc: got %q, want none", bcc)
			}
		})
	}
}

func TestMessageBytesBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
	}{
		{"non-ascii and long line", "Hallo Jürgen,\n\n" + longLine + "\nTschüss"},
		{"trailing newline", "eine Zeile\n"},
		{"crlf input", "erste\r\nzweite\r\n" + longLine},
		{"trailing spaces and equals", "preis = 5€   \nende\t"},
		{"dot line", "oben\n.\nunten"},
		{"empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := testMessage()
			msg.Text = tt.text
			raw := msg.Bytes()
			m := readMessage(t, raw)

			want := strings.ReplaceAll(strings.ReplaceAll(tt.text, "\r\n", "\n"), "\n", "\r\n")
			if got := decodeBody(t, m); got != want {
				t.Errorf("decoded body: got %q, want %q", got, want)
			}

			body := raw[bytes.Index(raw, []byte("\r\n\r\n"))+4:]
			for i, line := range strings.Split(string(body), "\r\n") {
				if len(line) > 76 {
					t.Errorf("body line %d: got %d chars, want at most 76: %q", i, len(line), line)
				}
				for _, r := range line {
					if r > 126 {
						t.Errorf("body line %d: got non-ASCII %q, want quoted-printable", i, r)
						break
					}
				}
			}
		})
	}
}

func TestMessageBytesCRLF(t *testing.T) {
	t.Parallel()
	texts := []string{"a\nb", "a\r\nb", "a\n\n" + longLine + "\n"}
	for _, text := range texts {
		t.Run(strings.ReplaceAll(text[:min(len(text), 10)], "\n", "_"), func(t *testing.T) {
			msg := testMessage()
			msg.Text = text
			raw := msg.Bytes()
			for i, c := range raw {
				if c == '\n' && (i == 0 || raw[i-1] != '\r') {
					t.Fatalf("byte %d: got bare LF, want CRLF\n%q", i, raw)
				}
				if c == '\r' && (i+1 == len(raw) || raw[i+1] != '\n') {
					t.Fatalf("byte %d: got bare CR, want CRLF\n%q", i, raw)
				}
			}
			if !bytes.HasSuffix(raw, []byte("\r\n")) {
				t.Errorf("message end: got %q, want CRLF", raw[max(0, len(raw)-10):])
			}
		})
	}
}

func TestMessageBytesMessageID(t *testing.T) {
	t.Parallel()
	t.Run("set is stable", func(t *testing.T) {
		msg := testMessage()
		a, b := msg.Bytes(), msg.Bytes()
		if !bytes.Equal(a, b) {
			t.Errorf("two encodings: got\n%s\nand\n%s\nwant equal", a, b)
		}
		if got, want := readMessage(t, a).Header.Get("Message-ID"), "<"+msg.MessageID+">"; got != want {
			t.Errorf("Message-ID: got %q, want %q", got, want)
		}
	})
	t.Run("empty is generated", func(t *testing.T) {
		msg := testMessage()
		msg.MessageID = ""
		a := readMessage(t, msg.Bytes()).Header.Get("Message-ID")
		b := readMessage(t, msg.Bytes()).Header.Get("Message-ID")
		if !strings.HasPrefix(a, "<") || !strings.HasSuffix(a, "@example.org>") {
			t.Errorf("Message-ID: got %q, want <...@example.org>", a)
		}
		if a == b {
			t.Errorf("two generated Message-IDs: got %q twice, want different", a)
		}
	})
	t.Run("no domain in from", func(t *testing.T) {
		msg := testMessage()
		msg.MessageID = ""
		msg.From = mail.Address{Address: "news"}
		id := readMessage(t, msg.Bytes()).Header.Get("Message-ID")
		if !strings.HasSuffix(id, "@herald.local>") {
			t.Errorf("Message-ID: got %q, want <...@herald.local>", id)
		}
	})
}

func TestMessageBytesZeroDate(t *testing.T) {
	t.Parallel()
	msg := testMessage()
	msg.Date = time.Time{}
	m := readMessage(t, msg.Bytes())
	date, err := m.Header.Date()
	if err != nil {
		t.Fatalf("Date header %q: got %v, want nil", m.Header.Get("Date"), err)
	}
	if date.IsZero() {
		t.Errorf("Date: got %v, want a filled-in date", date)
	}
}

func TestMessageBytesGolden(t *testing.T) {
	t.Parallel()
	got := testMessage().Bytes()
	path := filepath.Join("testdata", "message.golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: got %v, want nil (run with -update to create it)", path, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Bytes:\ngot\n%s\nwant\n%s", got, want)
	}
}

func TestMessageBytesListHeaders(t *testing.T) {
	t.Parallel()
	msg := testMessage()
	msg.ReplyTo = []mail.Address{{Name: "Bäckerei Team", Address: "team@example.org"}}
	msg.UnsubscribeURL = "https://news.example.org/u/tok123"
	msg.UnsubscribeMailto = "unsubscribe+tok123@example.org"
	msg.ListName, msg.ListID = "Bäckerei news", "list-3.news.example.org"
	msg.FeedbackID = "7:3:herald:news"
	msg.Headers = []Header{{"X-Order-Id", "1001"}, {"X-Note", "Grüße"}, {"Bcc", "spy@example.net"}, {"X-Bad\r\nBcc", "x"}, {"X-Split", "a\r\nBcc: spy@example.net"}}
	m := readMessage(t, msg.Bytes())

	replyTo, err := m.Header.AddressList("Reply-To")
	if err != nil || len(replyTo) != 1 || *replyTo[0] != msg.ReplyTo[0] {
		t.Errorf("Reply-To: got %v, %v; want %v", replyTo, err, msg.ReplyTo)
	}
	dec := new(mime.WordDecoder)
	listID, err := dec.DecodeHeader(m.Header.Get("List-Id"))
	if err != nil || listID != "Bäckerei news <list-3.news.example.org>" {
		t.Errorf("List-Id: got %q, %v", listID, err)
	}
	note, _ := dec.DecodeHeader(m.Header.Get("X-Note"))
	for _, h := range []struct{ key, want string }{
		{"List-Unsubscribe", "<https://news.example.org/u/tok123>, <mailto:unsubscribe+tok123@example.org?subject=unsubscribe>"},
		{"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"},
		{"Feedback-Id", "7:3:herald:news"},
		{"X-Order-Id", "1001"},
		{"X-Split", ""},
		{"Bcc", ""},
	} {
		if got := m.Header.Get(h.key); got != h.want {
			t.Errorf("%s: got %q, want %q", h.key, got, h.want)
		}
	}
	if note != "Grüße" {
		t.Errorf("X-Note: got %q, want Grüße", note)
	}

	// An ASCII list name is a quoted string; without a URL there is no
	// one-click header.
	msg = testMessage()
	msg.ListName, msg.ListID = `The "Daily" list`, "daily.example.org"
	msg.UnsubscribeMailto = "u@example.org"
	m = readMessage(t, msg.Bytes())
	if got := m.Header.Get("List-Id"); got != `"The \"Daily\" list" <daily.example.org>` {
		t.Errorf("ASCII List-Id: got %q", got)
	}
	if got := m.Header.Get("List-Unsubscribe-Post"); got != "" {
		t.Errorf("List-Unsubscribe-Post without a URL: got %q, want none", got)
	}
}

func TestCheckHeader(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		h    Header
		want string
	}{
		{Header{"X-Order-Id", "1"}, ""},
		{Header{"Subject", "x"}, "set by Herald"},
		{Header{"list-unsubscribe", "x"}, "set by Herald"},
		{Header{"X Bad", "x"}, "not a header name"},
		{Header{"", "x"}, "not a header name"},
		{Header{"X-Two", "a\nb"}, "one line"},
		{Header{"X-Note", "v\u202e\u0000"}, "character U+202E"},
		{Header{"X-Note", "a\x00b"}, "character U+0000"},
		{Header{"X-Note", "a\u200bb"}, "character U+200B"},
		{Header{"X-Note", "a\xffb"}, "UTF-8"},
		{Header{"X-Note", "Café 東京 🎉"}, ""},
	} {
		if got := CheckHeader(tc.h); (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("CheckHeader(%v): got %q, want %q", tc.h, got, tc.want)
		}
	}
}

// readParts reads every part of a multipart body, decoding base64 and
// quoted-printable as mail clients do.
func readParts(t *testing.T, r io.Reader, contentType string) ([]*multipart.Part, [][]byte) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		t.Fatalf("Content-Type %q: got %s, %v, want multipart", contentType, mt, err)
	}
	mr := multipart.NewReader(r, params["boundary"])
	var parts []*multipart.Part
	var bodies [][]byte
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return parts, bodies
		}
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		raw, err := io.ReadAll(p)
		if err != nil {
			t.Fatalf("read part: %v", err)
		}
		switch p.Header.Get("Content-Transfer-Encoding") {
		case "base64":
			for i, line := range strings.Split(strings.TrimRight(string(raw), "\r\n"), "\r\n") {
				if len(line) > 76 {
					t.Errorf("base64 line %d: got %d characters, want at most 76", i, len(line))
				}
			}
			if raw, err = io.ReadAll(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(raw))); err != nil {
				t.Fatalf("base64 part: %v", err)
			}
		case "quoted-printable":
			raw, _ = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
		}
		parts, bodies = append(parts, p), append(bodies, raw)
	}
}

func TestMessageBytesAttachments(t *testing.T) {
	t.Parallel()
	pdf := bytes.Repeat([]byte{0x25, 0x50, 0x44, 0x46, 0x00, 0xff, 0x10}, 300)
	files := []Attachment{
		{Filename: "receipt.pdf", ContentType: "application/pdf", Data: pdf},
		{Filename: "Rechnung für Jürgen.txt", ContentType: "text/plain; charset=utf-8", Data: []byte("Grüße")},
		{Filename: "odd\r\nBcc: x@example.com/../name", ContentType: "not a type", Data: nil},
	}
	for _, withHTML := range []bool{false, true} {
		t.Run(map[bool]string{false: "text", true: "text and html"}[withHTML], func(t *testing.T) {
			msg := testMessage()
			if withHTML {
				msg.HTML = "<p>Hallo</p>"
			}
			msg.Headers = []Header{{Name: "X-Order-Id", Value: "1001"}}
			msg.Attachments = files
			m := readMessage(t, msg.Bytes())
			if m.Header.Get("X-Order-Id") != "1001" || m.Header.Get("Bcc") != "" {
				t.Errorf("headers: got X-Order-Id %q and Bcc %q", m.Header.Get("X-Order-Id"), m.Header.Get("Bcc"))
			}
			parts, bodies := readParts(t, m.Body, m.Header.Get("Content-Type"))
			if len(parts) != 1+len(files) {
				t.Fatalf("parts: got %d, want the body and %d files", len(parts), len(files))
			}
			bodyType := parts[0].Header.Get("Content-Type")
			if withHTML {
				inner, innerBodies := readParts(t, bytes.NewReader(bodies[0]), bodyType)
				if len(inner) != 2 || !strings.HasPrefix(inner[0].Header.Get("Content-Type"), "text/plain") ||
					!strings.HasPrefix(inner[1].Header.Get("Content-Type"), "text/html") || string(innerBodies[1]) != "<p>Hallo</p>" {
					t.Errorf("alternative: got %d parts, html %q", len(inner), innerBodies)
				}
			} else if bodyType != "text/plain; charset=utf-8" || !strings.HasPrefix(string(bodies[0]), "Hallo Jürgen") {
				t.Errorf("body part: got %q %q", bodyType, bodies[0])
			}
			wantNames := []string{"receipt.pdf", "Rechnung für Jürgen.txt", "odd__Bcc: x@example.com_.._name"}
			wantTypes := []string{"application/pdf", "text/plain", "application/octet-stream"}
			dec := new(mime.WordDecoder)
			for i, f := range files {
				p := parts[i+1]
				if got := p.FileName(); got != wantNames[i] {
					t.Errorf("file %d name: got %q, want %q", i, got, wantNames[i])
				}
				mt, params, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
				if err != nil || mt != wantTypes[i] {
					t.Errorf("file %d type: got %q, %v, want %s", i, p.Header.Get("Content-Type"), err, wantTypes[i])
				}
				if name, err := dec.DecodeHeader(params["name"]); err != nil || name != wantNames[i] {
					t.Errorf("file %d Content-Type name: got %q (%v), want %q", i, params["name"], err, wantNames[i])
				}
				if !bytes.Equal(bodies[i+1], f.Data) {
					t.Errorf("file %d content: got %d bytes, want %d as given", i, len(bodies[i+1]), len(f.Data))
				}
			}
		})
	}
}

func TestMessageBytesNonASCIIFilenameEncodings(t *testing.T) {
	t.Parallel()
	msg := testMessage()
	msg.Attachments = []Attachment{{Filename: "café.pdf", ContentType: "application/pdf", Data: []byte("x")}}
	raw := string(msg.Bytes())
	for _, want := range []string{`filename*=utf-8''caf%C3%A9.pdf`, `name="=?utf-8?b?Y2Fmw6kucGRm?="`} {
		if !strings.Contains(raw, want) {
			t.Errorf("message: want %s in it:\n%s", want, raw)
		}
	}
}

// TestMessageBytesFoldsAddressLists writes fifty long To addresses folded
// between them: no line runs past 78 characters, and every address reads
// back.
func TestMessageBytesFoldsAddressLists(t *testing.T) {
	t.Parallel()
	msg := testMessage()
	for i := range 49 {
		msg.MoreTo = append(msg.MoreTo, mail.Address{Name: fmt.Sprintf("Recipient Number %d", i), Address: fmt.Sprintf("recipient.number.%d@example.com", i)})
	}
	msg.Cc = []mail.Address{{Name: "Jürgen Groß", Address: "j@example.com"}, {Address: "k@example.com"}}
	raw := msg.Bytes()
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	for _, line := range strings.Split(string(head), "\r\n") {
		if len(line) > 78 && !strings.HasPrefix(line, "Content-") {
			t.Errorf("a header line of %d characters: %q", len(line), line)
		}
	}
	m := readMessage(t, raw)
	to, err := m.Header.AddressList("To")
	if err != nil || len(to) != 50 || to[49].Address != "recipient.number.48@example.com" || to[49].Name != "Recipient Number 48" {
		t.Fatalf("To: got %d addresses, %v", len(to), err)
	}
	if cc, err := m.Header.AddressList("Cc"); err != nil || len(cc) != 2 || cc[0].Name != "Jürgen Groß" {
		t.Errorf("Cc: got %v, %v", cc, err)
	}
}
