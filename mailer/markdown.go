package mailer

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"

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
	protected, actions := protectActions(src, action, "HERALDACTION%dX")
	md := goldmark.New(goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.Linkify))
	var b bytes.Buffer
	if err := md.Convert([]byte(protected), &b); err != nil {
		return "", err
	}
	return restoreActions(b.String(), markdownMarker, actions), nil
}

var markdownMarker = regexp.MustCompile(`HERALDACTION(\d+)X`)

// protectActions replaces each template action that pattern matches in src
// with a marker made from format and its index, so a converter passes it
// through as text; restoreActions puts them back.
func protectActions(src string, pattern *regexp.Regexp, format string) (string, []string) {
	var actions []string
	return pattern.ReplaceAllStringFunc(src, func(a string) string {
		actions = append(actions, a)
		return fmt.Sprintf(format, len(actions)-1)
	}), actions
}

// restoreActions puts the actions back where marker, whose first group is
// an action's index, stands, in one pass over s: a body with many actions
// costs no more than one with few.
func restoreActions(s string, marker *regexp.Regexp, actions []string) string {
	return marker.ReplaceAllStringFunc(s, func(m string) string {
		i, err := strconv.Atoi(marker.FindStringSubmatch(m)[1])
		if err != nil || i >= len(actions) {
			return m
		}
		return actions[i]
	})
}
