package mailer

import (
	"regexp"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// HTMLToText makes the plain-text part of an email from its HTML: paragraphs
// and headings on lines of their own, list items with a dash, and each link's
// target after its text, so nothing a reader could follow is lost. Template
// actions in the HTML pass through as text.
//
// Actions travel through the HTML parser as comments, which it leaves where
// they are even between table rows, where it would move text.
func HTMLToText(src string) string {
	protected, actions := protectActions(src, anyAction, "<!--HERALDACT%d-->")
	doc, err := html.Parse(strings.NewReader(protected))
	if err != nil {
		return src
	}
	var w textWriter
	w.node(doc)
	return restoreActions(tidyText(w.b.String()), htmlMarker, actions)
}

var htmlMarker = regexp.MustCompile(`<!--HERALDACT(\d+)-->`)

// anyAction matches a template action, even one spread over lines.
var anyAction = regexp.MustCompile(`(?s)\{\{.*?\}\}`)

type textWriter struct {
	b    strings.Builder
	pre  bool
	skip bool
}

var blocks = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.Table: true, atom.Tr: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true,
	atom.H5: true, atom.H6: true, atom.Ul: true, atom.Ol: true, atom.Blockquote: true, atom.Pre: true, atom.Hr: true, atom.Section: true,
	atom.Header: true, atom.Footer: true, atom.Article: true, atom.Center: true,
}

func (w *textWriter) newline(n int) {
	s := w.b.String()
	have := len(s) - len(strings.TrimRight(s, "\n"))
	if w.b.Len() == 0 {
		return
	}
	for i := have; i < n; i++ {
		w.b.WriteByte('\n')
	}
}

func (w *textWriter) node(n *html.Node) {
	switch n.Type {
	case html.CommentNode:
		if strings.HasPrefix(n.Data, "HERALDACT") {
			w.b.WriteString("<!--" + n.Data + "-->")
		}
		return
	case html.TextNode:
		if w.skip {
			return
		}
		if w.pre {
			w.b.WriteString(n.Data)
			return
		}
		text := strings.Join(strings.Fields(n.Data), " ")
		if text == "" {
			if strings.TrimSpace(n.Data) == "" && n.Data != "" && !strings.HasSuffix(w.b.String(), " ") && !strings.HasSuffix(w.b.String(), "\n") && w.b.Len() > 0 {
				w.b.WriteByte(' ')
			}
			return
		}
		if strings.HasPrefix(n.Data, " ") || strings.HasPrefix(n.Data, "\n") {
			if s := w.b.String(); s != "" && !strings.HasSuffix(s, " ") && !strings.HasSuffix(s, "\n") {
				w.b.WriteByte(' ')
			}
		}
		w.b.WriteString(text)
		if strings.HasSuffix(n.Data, " ") || strings.HasSuffix(n.Data, "\n") {
			w.b.WriteByte(' ')
		}
		return
	case html.ElementNode:
		switch n.DataAtom {
		case atom.Script, atom.Style, atom.Head, atom.Title:
			return
		case atom.Br:
			w.b.WriteByte('\n')
			return
		case atom.Img:
			if alt := attr(n, "alt"); alt != "" {
				w.b.WriteString(alt)
			}
			return
		case atom.Li:
			w.newline(1)
			w.b.WriteString("- ")
		case atom.Td, atom.Th:
			if s := w.b.String(); s != "" && !strings.HasSuffix(s, "\n") && !strings.HasSuffix(s, " ") {
				w.b.WriteByte(' ')
			}
		case atom.Pre:
			w.newline(2)
			w.pre = true
			defer func() { w.pre = false }()
		}
		if blocks[n.DataAtom] {
			w.newline(2)
		}
		if n.DataAtom == atom.Hr {
			w.b.WriteString("----")
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		w.node(c)
	}
	if n.Type == html.ElementNode {
		if n.DataAtom == atom.A {
			href := strings.TrimSpace(attr(n, "href"))
			text := strings.TrimSpace(textOf(n))
			if href != "" && !strings.HasPrefix(href, "#") && href != text && !strings.HasPrefix(href, "mailto:"+text) {
				w.b.WriteString(" (" + href + ")")
			}
		}
		if blocks[n.DataAtom] || n.DataAtom == atom.Li {
			w.newline(1)
		}
		if blocks[n.DataAtom] {
			w.newline(2)
		}
	}
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}
