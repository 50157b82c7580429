package mailer

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"text/template/parse"
)

// contract lists the fields a template may use, below the root. A field
// marked with "*" takes any name: attributes and transactional data.
var contract = map[string][]string{
	"Contact":            {"Email", "FirstName", "LastName", "Attributes"},
	"Contact.Attributes": {"*"},
	"Campaign":           {"Name", "Subject"},
	"Data":               {"*"},
	"Org":                {"Name", "Address", "URL"},
	"Links":              {"Unsubscribe", "Preferences", "WebView"},
}

// checkFields reports the first field of ident, read from the root, that the
// data contract does not have.
func checkFields(ident []string) string {
	roots := []string{"Contact", "Campaign", "Data", "Org", "Links"}
	path := ""
	for i, f := range ident {
		allowed := roots
		if i > 0 {
			var ok bool
			if allowed, ok = contract[path]; !ok {
				return ""
			}
		}
		if len(allowed) == 1 && allowed[0] == "*" {
			return ""
		}
		found := false
		for _, a := range allowed {
			found = found || a == f
		}
		if !found {
			where := "the data"
			if path != "" {
				where = "." + path
			}
			return fmt.Sprintf("unknown field .%s: %s has %s", strings.Join(ident[:i+1], "."), where, listFields(allowed))
		}
		path = strings.Join(ident[:i+1], ".")
	}
	return ""
}

func listFields(fs []string) string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = "." + f
	}
	if len(out) == 1 {
		return out[0]
	}
	return strings.Join(out[:len(out)-1], ", ") + " and " + out[len(out)-1]
}

// prepareTree checks fields against the contract, turns the URL functions
// into reads of the recipient's links, and, in text templates, makes a
// missing value print nothing.
func prepareTree(part, src string, t *parse.Tree, text bool) error {
	w := treeWalker{part: part, src: src, tree: t, text: text}
	w.list(t.Root, true)
	return w.err
}

type treeWalker struct {
	part string
	src  string
	tree *parse.Tree
	text bool
	err  error
}

// fail records an error at the start of text, which ends at or near n.
func (w *treeWalker) fail(n parse.Node, text, msg string) {
	if w.err != nil {
		return
	}
	src := w.src
	end := min(int(n.Position())+len(text), len(src))
	start := strings.LastIndex(src[:end], text)
	if start < 0 {
		start = int(n.Position())
	}
	lineStart := strings.LastIndex(src[:start], "\n") + 1
	w.err = &TemplateError{Part: w.part, Line: strings.Count(src[:start], "\n") + 1, Col: start - lineStart + 1, Message: msg}
}

func (w *treeWalker) list(l *parse.ListNode, root bool) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		switch x := n.(type) {
		case *parse.ActionNode:
			w.pipe(x.Pipe, root)
			if w.text && len(x.Pipe.Decl) == 0 && mayBeNil(x.Pipe, root) {
				x.Pipe.Cmds = append(x.Pipe.Cmds, &parse.CommandNode{NodeType: parse.NodeCommand, Pos: x.Pos,
					Args: []parse.Node{parse.NewIdentifier("textout").SetTree(w.tree).SetPos(x.Pos)}})
			}
		case *parse.IfNode:
			w.pipe(x.Pipe, root)
			w.list(x.List, root)
			w.list(x.ElseList, root)
		case *parse.RangeNode:
			w.pipe(x.Pipe, root)
			// Every loop draws its length from the render's budget.
			x.Pipe.Cmds = append(x.Pipe.Cmds, &parse.CommandNode{NodeType: parse.NodeCommand, Pos: x.Pos,
				Args: []parse.Node{parse.NewIdentifier("loop").SetTree(w.tree).SetPos(x.Pos), &parse.VariableNode{NodeType: parse.NodeVariable, Pos: x.Pos, Ident: []string{"$"}}}})
			w.list(x.List, false)
			w.list(x.ElseList, root)
		case *parse.WithNode:
			w.pipe(x.Pipe, root)
			w.list(x.List, false)
			w.list(x.ElseList, root)
		case *parse.TemplateNode:
			w.pipe(x.Pipe, root)
		}
	}
}

func (w *treeWalker) pipe(p *parse.PipeNode, root bool) {
	if p == nil {
		return
	}
	for _, c := range p.Cmds {
		for i, a := range c.Args {
			switch x := a.(type) {
			case *parse.IdentifierNode:
				// Alone, or as an argument, like printf "%s" unsubscribe_url.
				if links, ok := urlFuncs[x.Ident]; ok && (len(c.Args) == 1 || i > 0) {
					c.Args[i] = &parse.VariableNode{NodeType: parse.NodeVariable, Pos: x.Pos, Ident: []string{"$", "Links", links}}
				}
			case *parse.FieldNode:
				if root {
					if msg := checkFields(x.Ident); msg != "" {
						w.fail(x, "."+strings.Join(x.Ident, "."), msg)
					}
					w.digInto(c, i, x.Position(), x.Ident)
				}
			case *parse.VariableNode:
				if len(x.Ident) > 1 && x.Ident[0] == "$" {
					if msg := checkFields(x.Ident[1:]); msg != "" {
						w.fail(x, strings.Join(x.Ident, "."), msg)
					}
					w.digInto(c, i, x.Position(), x.Ident[1:])
				}
			case *parse.PipeNode:
				w.pipe(x, root)
			}
		}
	}
}

// mayBeNil reports whether a pipeline can end in a missing value, which a
// text template would print as "<no value>": a read of free-form data, or
// any field read where the dot is not the root and its type is unknown.
// Reading the contract's own text fields never needs the extra call.
func mayBeNil(p *parse.PipeNode, root bool) bool {
	last := p.Cmds[len(p.Cmds)-1]
	switch a := last.Args[0].(type) {
	case *parse.IdentifierNode:
		return a.Ident == "dig" || a.Ident == "default"
	case *parse.FieldNode:
		return !root || freeDepth(a.Ident) > 0
	case *parse.DotNode, *parse.ChainNode:
		return true
	case *parse.VariableNode:
		return len(a.Ident) == 1 || a.Ident[0] != "$" || freeDepth(a.Ident[1:]) > 0
	}
	return false
}

// freeDepth counts the keys a field path reads below free-form data, .Data
// or .Contact.Attributes; it is 0 for the contract's own fields.
func freeDepth(path []string) int {
	switch {
	case len(path) >= 1 && path[0] == "Data":
		return len(path) - 1
	case len(path) >= 2 && path[0] == "Contact" && path[1] == "Attributes":
		return len(path) - 2
	}
	return 0
}

// digInto rewrites a read of free-form data, .Data.a.b or
// .Contact.Attributes.a, into a call of dig, so a missing key at any depth
// gives an empty value rather than an error.
func (w *treeWalker) digInto(c *parse.CommandNode, i int, pos parse.Pos, path []string) {
	if freeDepth(path) < 2 {
		// One key below the map is an index Go's templates already answer
		// with nothing when the key is missing; only deeper reads can fail.
		return
	}
	args := []parse.Node{parse.NewIdentifier("dig").SetTree(w.tree).SetPos(pos), &parse.VariableNode{NodeType: parse.NodeVariable, Pos: pos, Ident: []string{"$"}}}
	for _, p := range path {
		args = append(args, &parse.StringNode{NodeType: parse.NodeString, Pos: pos, Quoted: strconv.Quote(p), Text: p})
	}
	if i == 0 && len(c.Args) == 1 {
		c.Args = args
		return
	}
	c.Args[i] = &parse.PipeNode{NodeType: parse.NodePipe, Pos: pos, Cmds: []*parse.CommandNode{{NodeType: parse.NodeCommand, Pos: pos, Args: args}}}
}

var parseErrLine = regexp.MustCompile(`^template: [^:]*:(\d+):(?:(\d+):)? ?(.*)$`)
var undefinedFunc = regexp.MustCompile(`function "([^"]+)" not defined`)

// parseError turns a Go template parse error into a TemplateError. Go names
// the line; the column is found from the offending name when there is one,
// else the start of the first action on that line.
func parseError(part, src string, err error) error {
	m := parseErrLine.FindStringSubmatch(err.Error())
	if m == nil {
		return &TemplateError{Part: part, Line: 1, Col: 1, Message: err.Error()}
	}
	line, _ := strconv.Atoi(m[1])
	msg := m[3]
	if strings.HasPrefix(msg, "function ") && strings.HasSuffix(msg, " not defined") {
		msg += "; the functions are date, default, upper, lower, title, truncate, unsubscribe_url, preferences_url and web_view_url"
	}
	col := 1
	lines := strings.Split(src, "\n")
	if line >= 1 && line <= len(lines) {
		text := lines[line-1]
		col = strings.Index(text, "{{") + 1
		if f := undefinedFunc.FindStringSubmatch(m[3]); f != nil {
			if i := strings.Index(text, f[1]); i >= 0 {
				col = i + 1
			}
		}
		if col < 1 {
			col = 1
		}
	}
	return &TemplateError{Part: part, Line: line, Col: col, Message: msg}
}
