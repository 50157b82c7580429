// Package mailer builds email messages and delivers them through relays.
package mailer

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"mime"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"herald/mailer/addr"
)

// Message is an email ready to be encoded: plain text, or text and HTML as
// alternatives.
type Message struct {
	From mail.Address
	To   mail.Address
	// MoreTo and Cc are a message's other visible recipients; its Bcc
	// recipients are in the envelope only.
	MoreTo  []mail.Address
	Cc      []mail.Address
	Subject string
	Text    string
	// HTML, when set, goes beside Text in multipart/alternative.
	HTML string
	Date time.Time
	// MessageID is used as the Message-ID header; a random one is made when empty.
	MessageID string
	// ReplyTo, when set, is where replies go instead of From.
	ReplyTo []mail.Address
	// Unsubscribe links for List-Unsubscribe: an https URL, which also gets
	// List-Unsubscribe-Post for one-click unsubscribing (RFC 8058), and a
	// mailto address.
	UnsubscribeURL    string
	UnsubscribeMailto string
	// ListID names the list the message went to, as a List-Id header:
	// ListName is its phrase and ListID the dotted identifier.
	ListName, ListID string
	// FeedbackID groups complaints in feedback loops, like Gmail's.
	FeedbackID string
	// Headers are extra headers, such as ones a transactional sender asked for.
	Headers []Header
	// Attachments, when there are any, follow the body in multipart/mixed.
	Attachments []Attachment
}

// Header is one extra message header.
type Header struct{ Name, Value string }

// reservedHeaders are the headers Bytes writes itself; Headers may not
// repeat them.
var reservedHeaders = map[string]bool{"date": true, "from": true, "to": true, "subject": true, "message-id": true, "mime-version": true,
	"content-type": true, "content-transfer-encoding": true, "reply-to": true, "list-unsubscribe": true, "list-unsubscribe-post": true,
	"list-id": true, "feedback-id": true, "bcc": true, "cc": true, "sender": true, "return-path": true}

// CheckHeader says what is wrong with an extra header, or "". A value is
// one line of visible UTF-8 text: a control character could end the header
// early, and a right-to-left override or a zero-width character would make
// it read differently from what it holds. Unlike names and subjects, a value
// keeps no joiner for emoji or scripts: headers carry identifiers, not prose.
func CheckHeader(h Header) string {
	if h.Name == "" || strings.IndexFunc(h.Name, func(r rune) bool { return r <= ' ' || r > '~' || r == ':' }) >= 0 {
		return fmt.Sprintf("%q is not a header name: use letters, digits and dashes, like X-Order-Id", h.Name)
	}
	if reservedHeaders[strings.ToLower(h.Name)] {
		return fmt.Sprintf("%s is set by Herald and cannot be given", h.Name)
	}
	if strings.ContainsAny(h.Value, "\r\n") || len(h.Value) > 900 {
		return fmt.Sprintf("the value of %s must be one line of at most 900 characters", h.Name)
	}
	if !utf8.ValidString(h.Value) {
		return fmt.Sprintf("the value of %s must be text encoded as UTF-8", h.Name)
	}
	if i := strings.IndexFunc(h.Value, addr.Invisible); i >= 0 {
		r, _ := utf8.DecodeRuneInString(h.Value[i:])
		return fmt.Sprintf("the value of %s holds the invisible or control character %U: remove it", h.Name, r)
	}
	return ""
}

// Bytes encodes m as an RFC 5322 message: UTF-8, quoted-printable body and
// encoded words for non-ASCII header text; with attachments, the body and
// then each file in base64, as multipart/mixed.
func (m Message) Bytes() []byte { return m.AppendTo(nil) }

// AppendTo appends m, encoded as Bytes encodes it, to dst, so that a
// buffer can serve one message after another.
func (m Message) AppendTo(dst []byte) []byte {
	b := bytes.NewBuffer(dst)
	size := len(m.Text) + len(m.HTML) + len(m.HTML)/8 + 2048
	for _, a := range m.Attachments {
		size += len(a.Data)*4/3 + len(a.Data)/38 + 512
	}
	b.Grow(size)
	id := m.MessageID
	if id == "" {
		id = randomMessageID(m.From.Address)
	}
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	header := func(k, v string) { fmt.Fprintf(b, "%s: %s\r\n", k, v) }
	header("Date", date.Format(time.RFC1123Z))
	header("From", m.From.String())
	header("To", addressList("To", append([]mail.Address{m.To}, m.MoreTo...)))
	if len(m.Cc) > 0 {
		header("Cc", addressList("Cc", m.Cc))
	}
	header("Subject", mime.QEncoding.Encode("utf-8", oneLine(m.Subject)))
	header("Message-ID", "<"+id+">")
	if len(m.ReplyTo) > 0 {
		header("Reply-To", addressList("Reply-To", m.ReplyTo))
	}
	var unsub []string
	if m.UnsubscribeURL != "" {
		unsub = append(unsub, "<"+oneLine(m.UnsubscribeURL)+">")
	}
	if m.UnsubscribeMailto != "" {
		unsub = append(unsub, "<mailto:"+oneLine(m.UnsubscribeMailto)+"?subject=unsubscribe>")
	}
	if len(unsub) > 0 {
		header("List-Unsubscribe", strings.Join(unsub, ", "))
	}
	if m.UnsubscribeURL != "" {
		header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
	}
	if m.ListID != "" {
		name := ""
		if m.ListName != "" {
			name = mime.QEncoding.Encode("utf-8", oneLine(m.ListName))
			if name == oneLine(m.ListName) {
				name = strconv.Quote(name)
			}
			name += " "
		}
		header("List-Id", name+"<"+oneLine(m.ListID)+">")
	}
	if m.FeedbackID != "" {
		header("Feedback-ID", oneLine(m.FeedbackID))
	}
	for _, h := range m.Headers {
		if CheckHeader(h) == "" {
			header(h.Name, mime.QEncoding.Encode("utf-8", h.Value))
		}
	}
	header("MIME-Version", "1.0")
	if len(m.Attachments) == 0 {
		m.writeBody(b)
		return b.Bytes()
	}
	mixed := randomBoundary()
	header("Content-Type", `multipart/mixed; boundary="`+mixed+`"`)
	b.WriteString("\r\n--" + mixed + "\r\n")
	m.writeBody(b)
	for _, a := range m.Attachments {
		b.WriteString("--" + mixed + "\r\n")
		writeAttachment(b, a)
	}
	b.WriteString("--" + mixed + "--\r\n")
	return b.Bytes()
}

// writeBody writes the body's own headers, a blank line and the body: plain
// text, or text and HTML as multipart/alternative.
func (m Message) writeBody(b *bytes.Buffer) {
	if m.HTML == "" {
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
		writeQP(b, m.Text)
		return
	}
	boundary := randomBoundary()
	b.WriteString(`Content-Type: multipart/alternative; boundary="` + boundary + "\"\r\n\r\n")
	for _, part := range []struct{ ct, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		fmt.Fprintf(b, "--%s\r\nContent-Type: %s; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", boundary, part.ct)
		writeQP(b, part.body)
	}
	fmt.Fprintf(b, "--%s--\r\n", boundary)
}

// writeQP writes text quoted-printable with CRLF line ends.
func writeQP(b *bytes.Buffer, text string) {
	b.Grow(len(text) + len(text)/8 + 2)
	b.Write(appendQP(b.AvailableBuffer(), text))
	b.WriteString("\r\n")
}

func randomBoundary() string {
	r := make([]byte, 12)
	rand.Read(r)
	return fmt.Sprintf("herald-%x", r)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func randomMessageID(from string) string {
	b := make([]byte, 12)
	rand.Read(b)
	return fmt.Sprintf("%x.%d@%s", b, time.Now().UnixNano(), domainOf(from))
}

// addressList writes addresses for the header name, separated by commas
// and folded between them so that no line runs past 78 characters where
// it can help it (RFC 5322, 2.1.1).
func addressList(name string, as []mail.Address) string {
	var b strings.Builder
	line := len(name) + 2
	for i, a := range as {
		s := a.String()
		if i > 0 {
			if line+2+len(s) > 78 {
				b.WriteString(",\r\n ")
				line = 1
			} else {
				b.WriteString(", ")
				line += 2
			}
		}
		b.WriteString(s)
		line += len(s)
	}
	return b.String()
}
