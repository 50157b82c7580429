package mailer

import (
	"fmt"
	htmltemplate "html/template"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/template/parse"
)

// meterTrees makes every render of a set of parsed templates keep to its
// budget. The functions that can make big values get the render's data as
// $. Every range takes its length times the weight of its body from the
// part's steps. What comparisons and html/template's escapers work through
// is charged first, unless it is plain (see plain). A template's weight
// counts its actions and those of the templates it calls, so a template
// that calls itself is refused, and so is one whose calls alone would go
// past MaxSteps.
func meterTrees(trees map[string]*parse.Tree, root string, part func(string) string, html bool) error {
	m := &meter{trees: trees, root: root, part: part, html: html, weights: map[string]int{}, callers: map[string][]caller{}}
	for name, t := range trees {
		visit(t.Root, place{}, func(n parse.Node, at place) {
			if x, ok := n.(*parse.TemplateNode); ok {
				m.callers[x.Name] = append(m.callers[x.Name], caller{name, !at.inLoop})
			}
		})
	}
	if m.template(root) > MaxSteps && m.err == nil {
		m.err = &TemplateError{Part: part(root), Line: 1, Col: 1, Message: fmt.Sprintf("the template would run more than %d actions in one email; shorten it", MaxSteps)}
	}
	for _, name := range slices.Sorted(maps.Keys(trees)) {
		m.template(name)
	}
	return m.err
}

// meter rewrites the trees of one template set; see meterTrees.
type meter struct {
	trees map[string]*parse.Tree
	root  string
	part  func(name string) string
	html  bool
	// weights holds the templates weighed so far, and weighing while one
	// is being weighed.
	weights map[string]int
	callers map[string][]caller
	err     error
}

// caller is a place that calls a template.
type caller struct {
	name string
	// once is whether the call runs once each time its template does.
	once bool
}

const weighing = -1

// place is where a node stands in its template.
type place struct {
	// inLoop is whether it is in the list of a range.
	inLoop bool
	// ownDot is whether its dot is the one the template was called with:
	// no with or range around it set another.
	ownDot bool
}

// visit calls f on every node of l and below, saying where it stands; l
// stands at.
func visit(l *parse.ListNode, at place, f func(n parse.Node, at place)) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		f(n, at)
		switch x := n.(type) {
		case *parse.IfNode:
			visit(x.List, at, f)
			visit(x.ElseList, at, f)
		case *parse.WithNode:
			visit(x.List, place{at.inLoop, false}, f)
			visit(x.ElseList, at, f)
		case *parse.RangeNode:
			visit(x.List, place{true, false}, f)
			visit(x.ElseList, at, f)
		}
	}
}

// once reports whether a template runs at most once in a render: the root
// does, and so does a template called from one place that runs once.
func (m *meter) once(name string, depth int) bool {
	if name == m.root {
		return true
	}
	c := m.callers[name]
	return len(c) == 1 && c[0].once && depth < len(m.trees) && m.once(c[0].name, depth+1)
}

// weight adds weights, stopping just past MaxSteps.
func weight(ws ...int) int {
	sum := 0
	for _, w := range ws {
		sum = min(sum+w, MaxSteps+1)
	}
	return sum
}

// template meters a template once and returns its weight.
func (m *meter) template(name string) int {
	if w, ok := m.weights[name]; ok {
		return w
	}
	t := m.trees[name]
	if t == nil {
		return 0
	}
	m.weights[name] = weighing
	w := m.list(t, t.Root, m.once(name, 0))
	m.weights[name] = w
	return w
}

func (m *meter) list(t *parse.Tree, l *parse.ListNode, once bool) int {
	if l == nil {
		return 0
	}
	w := 0
	for _, n := range l.Nodes {
		w = weight(w, m.node(t, n, once))
	}
	return w
}

func (m *meter) node(t *parse.Tree, n parse.Node, once bool) int {
	switch x := n.(type) {
	case *parse.ActionNode:
		w := m.pipe(t, x.Pipe, once)
		if m.html && len(x.Pipe.Decl) == 0 && !m.light(x.Pipe.Cmds, len(x.Pipe.Cmds)-1, once) {
			// html/template's escapers work through what the action prints.
			x.Pipe.Cmds = append(x.Pipe.Cmds, m.charge(t, x.Position()))
		}
		return weight(1, w)
	case *parse.IfNode:
		return weight(1, m.pipe(t, x.Pipe, once), m.list(t, x.List, once), m.list(t, x.ElseList, once))
	case *parse.WithNode:
		return weight(1, m.pipe(t, x.Pipe, once), m.list(t, x.List, once), m.list(t, x.ElseList, once))
	case *parse.RangeNode:
		body := max(m.list(t, x.List, false), 1)
		pos := x.Position()
		x.Pipe.Cmds = append(x.Pipe.Cmds, m.command(t, pos, "steps", dollar(pos),
			&parse.NumberNode{NodeType: parse.NodeNumber, Pos: pos, IsInt: true, Int64: int64(body), Text: strconv.Itoa(body)}))
		return weight(1, m.pipe(t, x.Pipe, once), m.list(t, x.ElseList, once))
	case *parse.TemplateNode:
		w := weight(1, m.pipe(t, x.Pipe, once))
		if m.weights[x.Name] == weighing {
			m.fail(t, x, fmt.Sprintf("template %q calls itself; a template cannot call itself, directly or through others", x.Name))
			return MaxSteps + 1
		}
		callee := m.template(x.Name)
		if callee > MaxSteps {
			m.fail(t, x, fmt.Sprintf("template %q would run more than %d actions in one email; have templates call each other less", x.Name, MaxSteps))
		}
		return weight(w, callee)
	}
	return 1
}

// pipe meters a pipeline's commands and returns their weight.
func (m *meter) pipe(t *parse.Tree, p *parse.PipeNode, once bool) int {
	if p == nil {
		return 0
	}
	w := 0
	cmds := make([]*parse.CommandNode, 0, len(p.Cmds))
	for _, c := range p.Cmds {
		w = weight(w, m.args(t, c, once))
		pos := c.Position()
		switch name := ident(c); {
		case metered(name, m.html):
			c.Args = slices.Insert(c.Args, 1, parse.Node(dollar(pos)))
		case m.consumes(name) && !m.cheap(name, c.Args[1:], len(cmds) > 0):
			for i := 1; i < len(c.Args); i++ {
				c.Args[i] = m.charged(t, c.Args[i], once)
			}
			// The command before passes its value as the last argument.
			if len(cmds) > 0 && !m.light(cmds, len(cmds)-1, once) {
				cmds = append(cmds, m.charge(t, pos))
			}
		}
		cmds = append(cmds, c)
	}
	p.Cmds = cmds
	return w
}

// args meters the arguments of a command and returns its weight. A metered
// function named as an argument becomes a call with $.
func (m *meter) args(t *parse.Tree, c *parse.CommandNode, once bool) int {
	w := 1
	for i, a := range c.Args {
		switch x := a.(type) {
		case *parse.PipeNode:
			w = weight(w, m.pipe(t, x, once))
		case *parse.ChainNode:
			if p, ok := x.Node.(*parse.PipeNode); ok {
				w = weight(w, m.pipe(t, p, once))
			}
		case *parse.IdentifierNode:
			if i > 0 && metered(x.Ident, m.html) {
				c.Args[i] = &parse.PipeNode{NodeType: parse.NodePipe, Pos: x.Pos, Cmds: []*parse.CommandNode{m.command(t, x.Pos, x.Ident, dollar(x.Pos))}}
			}
		}
		w = weight(w, 1)
	}
	return w
}

// consumes reports whether a builtin works through its arguments to give a
// small result, or hands them to html/template's escapers: the ones whose
// arguments must be charged first.
func (m *meter) consumes(name string) bool {
	switch name {
	case "eq", "ne", "lt", "le", "gt", "ge":
		return true
	case "html", "urlquery":
		return m.html
	}
	return false
}

// cheap reports whether a comparison costs little whatever its operands:
// one of two is a short literal, which a string is compared with no
// further than its length.
func (m *meter) cheap(name string, args []parse.Node, piped bool) bool {
	if m.html && (name == "html" || name == "urlquery") || len(args)+btoi(piped) != 2 {
		return false
	}
	for _, a := range args {
		switch x := a.(type) {
		case *parse.NumberNode, *parse.BoolNode, *parse.NilNode:
			return true
		case *parse.StringNode:
			if len(x.Text) <= 64 {
				return true
			}
		}
	}
	return false
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// dropCharges takes out the charge before an escaped action's escapers
// when none of them is a filter: the others give out at least what they
// take in, and the part's size caps that. A filter can turn a long value
// into a few bytes, so its work shows only in the charge.
func dropCharges(n parse.Node, _ place) {
	a, ok := n.(*parse.ActionNode)
	if !ok {
		return
	}
	cmds := a.Pipe.Cmds
	k := slices.IndexFunc(cmds, func(c *parse.CommandNode) bool { return ident(c) == "charge" })
	if k < 0 {
		return
	}
	for _, c := range cmds[k+1:] {
		switch name := ident(c); {
		case name == "html" || name == "urlquery":
		case strings.HasPrefix(name, "_html_template_") && !strings.HasSuffix(name, "filter") && name != "_html_template_srcsetescaper":
		default:
			return
		}
	}
	a.Pipe.Cmds = slices.Delete(cmds, k, k+1)
}

// dropEscapedCharges applies dropCharges to an escaped template set.
func dropEscapedCharges(t *htmltemplate.Template) {
	for _, ht := range t.Templates() {
		if ht.Tree != nil {
			visit(ht.Tree.Root, place{}, dropCharges)
		}
	}
}

// weighed reports whether a function's result needs no charge: a metered
// call charged it, the arguments of a consuming one were, or it is small.
func (m *meter) weighed(name string) bool {
	switch name {
	case "charge", "len", "not", "outlook_column_start", "outlook_column_end":
		return true
	}
	return metered(name, m.html) || m.consumes(name)
}

// light reports whether the value of the i-th of cmds needs no charge: it
// is weighed, or made only of plain values.
func (m *meter) light(cmds []*parse.CommandNode, i int, once bool) bool {
	c := cmds[i]
	switch name := ident(c); name {
	case "":
		return len(c.Args) == 1 && m.plain(c.Args[0], once)
	case "default", "dig", "and", "or", "index", "slice":
		// These give back what they are given, or part of it.
		for _, a := range c.Args[1:] {
			if !m.plain(a, once) {
				return false
			}
		}
		return i == 0 || m.light(cmds, i-1, once)
	default:
		return m.weighed(name)
	}
}

// plain reports whether an argument needs no charge. Numbers and the like
// are small. A quoted string costs its length in the template each time
// its action runs, which matters only in a loop. A read of the recipient's
// data, where the template runs once, costs the data's size once for each
// such read written in the template, which the template's length bounds;
// in a loop it is charged. Any other value, like a variable that may hold
// what a function made, is charged wherever it is used.
func (m *meter) plain(n parse.Node, once bool) bool {
	switch x := n.(type) {
	case *parse.NumberNode, *parse.BoolNode, *parse.NilNode:
		return true
	case *parse.StringNode:
		return once || len(x.Text) <= 64
	case *parse.FieldNode, *parse.ChainNode:
		return once
	case *parse.VariableNode:
		return once && (len(x.Ident) > 1 || x.Ident[0] == "$")
	case *parse.PipeNode:
		return len(x.Decl) == 0 && m.light(x.Cmds, len(x.Cmds)-1, once)
	}
	return false
}

// charged makes an argument pass through charge, unless it is plain.
func (m *meter) charged(t *parse.Tree, n parse.Node, once bool) parse.Node {
	if m.plain(n, once) {
		return n
	}
	pos := n.Position()
	if p, ok := n.(*parse.PipeNode); ok && len(p.Decl) == 0 {
		p.Cmds = append(p.Cmds, m.charge(t, pos))
		return p
	}
	return &parse.PipeNode{NodeType: parse.NodePipe, Pos: pos,
		Cmds: []*parse.CommandNode{{NodeType: parse.NodeCommand, Pos: pos, Args: []parse.Node{n}}, m.charge(t, pos)}}
}

func (m *meter) command(t *parse.Tree, pos parse.Pos, name string, args ...parse.Node) *parse.CommandNode {
	return &parse.CommandNode{NodeType: parse.NodeCommand, Pos: pos, Args: append([]parse.Node{parse.NewIdentifier(name).SetTree(t).SetPos(pos)}, args...)}
}

func dollar(pos parse.Pos) *parse.VariableNode {
	return &parse.VariableNode{NodeType: parse.NodeVariable, Pos: pos, Ident: []string{"$"}}
}

// ident is the function a command calls, or "".
func ident(c *parse.CommandNode) string {
	if id, ok := c.Args[0].(*parse.IdentifierNode); ok {
		return id.Ident
	}
	return ""
}

// fail records a TemplateError at n, the first only.
func (m *meter) fail(t *parse.Tree, n parse.Node, msg string) {
	if m.err != nil {
		return
	}
	loc, _ := t.ErrorContext(n)
	f := strings.Split(loc, ":")
	line, _ := strconv.Atoi(f[len(f)-2])
	col, _ := strconv.Atoi(f[len(f)-1])
	m.err = &TemplateError{Part: m.part(t.Name), Line: line, Col: col + 1, Message: msg}
}

func (m *meter) charge(t *parse.Tree, pos parse.Pos) *parse.CommandNode {
	return m.command(t, pos, "charge", dollar(pos))
}
