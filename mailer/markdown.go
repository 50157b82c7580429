package mailer

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"
)

// action matches a Go template action, so Markdown never sees one: an
// underscore in {{.Data.order_id}} must not turn into emphasis.
var action = regexp.MustCompile(`\{\{.*?\}\}`)

// markdownToHTML turns a Markdown body into HTML once, at save, keeping its
// template actions as they were. Raw HTML in the Markdown is dropped, as
// goldmark does by default. A body past the Markdown limits comes back as
// a *TemplateError at its place.
func markdownToHTML(src string) (string, error) {
	protected, actions := protectActions(src, action, markerFormat)
	if l := checkMarkdown(protected); l != nil {
		return "", l.at(src)
	}
	md := goldmark.New(goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.Linkify))
	doc := md.Parser().Parse(text.NewReader([]byte(protected)))
	if l := checkTargets(doc); l != nil {
		return "", l.at(src)
	}
	var b bytes.Buffer
	if err := md.Renderer().Render(&b, []byte(protected), doc); err != nil {
		return "", &TemplateError{Part: "body", Line: 1, Col: 1, Message: err.Error()}
	}
	return restoreActions(b.String(), markdownMarker, actions), nil
}

const markerFormat = "HERALDACTION%dX"

var markdownMarker = regexp.MustCompile(`HERALDACTION(\d+)X`)

// at places the limit in src as written: the text goldmark read had each
// action replaced by a marker, and a place inside one is the action's.
func (l *markdownLimit) at(src string) *TemplateError {
	p, delta := l.pos, 0
	for i, span := range action.FindAllStringIndex(src, -1) {
		start := span[0] - delta
		if p < start {
			break
		}
		marker := len(fmt.Sprintf(markerFormat, i))
		if p < start+marker {
			p = start
			break
		}
		delta += span[1] - span[0] - marker
	}
	o := min(p+delta, len(src))
	return &TemplateError{Part: "body", Line: strings.Count(src[:o], "\n") + 1, Col: o - strings.LastIndexByte(src[:o], '\n'), Message: l.msg}
}

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
