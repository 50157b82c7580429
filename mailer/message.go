// Package mailer builds email messages and delivers them through relays.
package mailer

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
)

// Message is an email ready to be encoded: plain text, or text and HTML as
// alternatives.
type Message struct {
	From    mail.Address
	To      mail.Address
	Subject string
	Text    string
	// HTML, when set, goes beside Text in multipart/alternative.
	HTML string
	Date time.Time
	// MessageID is used as the Message-ID header; a random one is made when empty.
	MessageID string
}

// Bytes encodes m as an RFC 5322 message: UTF-8, quoted-printable body and
// encoded words for non-ASCII header text.
func (m Message) Bytes() []byte {
	var b bytes.Buffer
	id := m.MessageID
	if id == "" {
		id = randomMessageID(m.From.Address)
	}
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	header("Date", date.Format(time.RFC1123Z))
	header("From", m.From.String())
	header("To", m.To.String())
	header("Subject", mime.QEncoding.Encode("utf-8", oneLine(m.Subject)))
	header("Message-ID", "<"+id+">")
	header("MIME-Version", "1.0")
	if m.HTML == "" {
		header("Content-Type", "text/plain; charset=utf-8")
		header("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		writeQP(&b, m.Text)
		return b.Bytes()
	}
	boundary := randomBoundary()
	header("Content-Type", `multipart/alternative; boundary="`+boundary+`"`)
	b.WriteString("\r\n")
	for _, part := range []struct{ ct, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		fmt.Fprintf(&b, "--%s\r\nContent-Type: %s; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", boundary, part.ct)
		writeQP(&b, part.body)
	}
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return b.Bytes()
}

// writeQP writes text quoted-printable with CRLF line ends.
func writeQP(b *bytes.Buffer, text string) {
	qp := quotedprintable.NewWriter(b)
	qp.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\n", "\r\n")))
	qp.Close()
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
	domain := "herald.local"
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i < len(from)-1 {
		domain = from[i+1:]
	}
	b := make([]byte, 12)
	rand.Read(b)
	return fmt.Sprintf("%x.%d@%s", b, time.Now().UnixNano(), domain)
}
