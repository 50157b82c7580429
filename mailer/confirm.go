package mailer

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"
)

// ConfirmData is what a confirmation email's templates can use.
type ConfirmData struct {
	ListName   string
	FirstName  string
	Org        string
	ConfirmURL string
}

// RenderText renders a subject and a plain-text body from Go text templates.
func RenderText(subject, text string, data any) (string, string, error) {
	var out [2]string
	for i, src := range []string{subject, text} {
		t, err := template.New(fmt.Sprint(i)).Option("missingkey=error").Parse(src)
		if err != nil {
			return "", "", err
		}
		var b bytes.Buffer
		if err := t.Execute(&b, data); err != nil {
			return "", "", err
		}
		out[i] = b.String()
	}
	return strings.TrimSpace(out[0]), out[1], nil
}
