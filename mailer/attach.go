package mailer

import (
	"bytes"
	"encoding/base64"
	"mime"
	"strings"
	"unicode"
)

// Attachment is a file sent with a message.
type Attachment struct {
	Filename string
	// ContentType is the file's media type; application/octet-stream when
	// empty or not a media type.
	ContentType string
	Data        []byte
}

// base64Line is the longest line of base64 MIME allows (RFC 2045).
const base64Line = 76

// writeAttachment writes one attachment as a MIME part: its headers, a blank
// line, and its content in base64 lines of 76 characters.
func writeAttachment(b *bytes.Buffer, a Attachment) {
	name := cleanFilename(a.Filename)
	b.WriteString("Content-Type: " + attachmentType(a.ContentType, name) + "\r\n")
	b.WriteString("Content-Disposition: " + mime.FormatMediaType("attachment", map[string]string{"filename": name}) + "\r\n")
	b.WriteString("Content-Transfer-Encoding: base64\r\n\r\n")
	enc := make([]byte, base64.StdEncoding.EncodedLen(len(a.Data)))
	base64.StdEncoding.Encode(enc, a.Data)
	for len(enc) > 0 {
		n := min(base64Line, len(enc))
		b.Write(enc[:n])
		b.WriteString("\r\n")
		enc = enc[n:]
	}
}

// attachmentType is the part's Content-Type with the file's name: plainly
// when it is ASCII, else as an RFC 2047 encoded word, which the mail clients
// that ignore Content-Disposition's RFC 2231 filename* read.
func attachmentType(contentType, name string) string {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || !strings.Contains(mt, "/") || strings.HasPrefix(mt, "multipart/") {
		mt, params = "application/octet-stream", nil
	}
	if params == nil {
		params = map[string]string{}
	}
	delete(params, "name")
	if isASCII(name) {
		params["name"] = name
		return mime.FormatMediaType(mt, params)
	}
	return mime.FormatMediaType(mt, params) + `; name="` + mime.BEncoding.Encode("utf-8", name) + `"`
}

// cleanFilename keeps a file name to one line without path separators, so
// a header cannot be broken and no client is led outside its folder.
func cleanFilename(name string) string {
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '/' || r == '\\' {
			return '_'
		}
		return r
	}, name)
	if strings.TrimSpace(name) == "" {
		return "attachment"
	}
	return name
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
