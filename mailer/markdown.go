package mailer

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// action matches a Go template action, so Markdown never sees one: an
// underscore in {{.Data.order_id}} must not turn into emphasis.
var action = regexp.MustCompile(`\{\{.*?\}\}`)

// markdownToHTML turns a Markdown body into HTML once, at save, keeping its
// template actions as they were. Raw HTML in the Markdown is dropped, as
// goldmark does by default.
func markdownToHTML(src string) (string, error) {
	var actions []string
	protected := action.ReplaceAllStringFunc(src, func(a string) string {
		actions = append(actions, a)
		return fmt.Sprintf("HERALDACTION%dX", len(actions)-1)
	})
	md := goldmark.New(goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.Linkify))
	var b bytes.Buffer
	if err := md.Convert([]byte(protected), &b); err != nil {
		return "", err
	}
	out := b.String()
	for i := len(actions) - 1; i >= 0; i-- {
		out = strings.ReplaceAll(out, fmt.Sprintf("HERALDACTION%dX", i), actions[i])
	}
	return out, nil
}
