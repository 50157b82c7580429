package mailer

import (
	"strings"
	"text/template/parse"
)

// classifier tells which top-level nodes of a template render the same for
// every recipient whose shared data is the same: those that read only the
// campaign and the organisation, call only functions whose result depends
// on their arguments alone, call no template, and declare or set no
// variable that outlives them.
type classifier struct {
	// subjectShared is whether .Campaign.Subject is shared: the subject
	// reads nothing of the recipient, so neither does its rendered text.
	subjectShared bool
	// html is whether the nodes are in an HTML part, where html and
	// urlquery are html/template's and take no budget.
	html bool
}

// constant reports whether n, a top-level node of a template whose dot is
// the root data, reads only shared data.
func (k classifier) constant(n parse.Node) bool {
	s := scan{classifier: k, ok: true}
	s.node(n, true)
	return s.ok
}

// repeatable reports whether a top-level action renders the same each time
// it runs in one render: it may read anything of the data, but calls only
// functions whose result depends on their arguments alone, and none that
// takes from the budget, and reads no variable but $.
func (k classifier) repeatable(a *parse.ActionNode) bool {
	s := scan{classifier: k, ok: true, anyData: true}
	s.node(a, true)
	return s.ok
}

// sharedOnly reports whether every top-level node of t reads only shared data.
func sharedOnly(t *parse.Tree, k classifier) bool {
	for _, n := range t.Root.Nodes {
		if !k.constant(n) {
			return false
		}
	}
	return true
}

// shared reports whether a path of fields read from the root data is
// shared by every recipient.
func (k classifier) shared(path []string) bool {
	switch path[0] {
	case "Org":
		return true
	case "Campaign":
		return k.subjectShared || len(path) > 1 && path[1] == "Name"
	}
	return false
}

// budgeted reports whether a function's first argument is the render's
// data only for its budget: what it returns does not depend on the data.
func (k classifier) budgeted(name string) bool {
	switch name {
	case "charge", "loop", "steps":
		return true
	}
	return metered(name, k.html)
}

// pure reports whether a function's result depends on its arguments alone.
// Functions not named here, new ones included, count as reading the
// recipient.
func pure(name string) bool {
	switch name {
	case "default", "textout", "loop", "steps", "charge", "outlook_column_start", "outlook_column_end",
		"printf", "print", "println", "js", "upper", "lower", "title", "truncate", "date", "html", "urlquery",
		"and", "or", "not", "len", "index", "slice", "eq", "ne", "lt", "le", "gt", "ge", "_eval_args_":
		return true
	}
	// html/template's escapers.
	return strings.HasPrefix(name, "_html_template_")
}

// scan walks one node for constant, keeping the variables the node itself
// declares, innermost last.
type scan struct {
	classifier
	ok bool
	// anyData allows reads of all the data, and no budgeted function.
	anyData bool
	// depth counts the ifs, withs and ranges around the place scanned; a
	// variable declared outside all of them lives on after the node.
	depth int
	vars  []string
}

func (s *scan) list(l *parse.ListNode, rootDot bool) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		s.node(n, rootDot)
	}
}

func (s *scan) node(n parse.Node, rootDot bool) {
	switch x := n.(type) {
	case *parse.TextNode, *parse.CommentNode, *parse.BreakNode, *parse.ContinueNode:
	case *parse.ActionNode:
		s.pipe(x.Pipe, rootDot)
	case *parse.IfNode:
		s.control(x.Pipe, x.List, x.ElseList, rootDot, rootDot)
	case *parse.WithNode:
		s.control(x.Pipe, x.List, x.ElseList, false, rootDot)
	case *parse.RangeNode:
		s.control(x.Pipe, x.List, x.ElseList, false, rootDot)
	default:
		// A template call, or a node this does not know.
		s.ok = false
	}
}

// control scans an if, with or range. Its pipeline runs with the dot
// around it, and so does its else; its list runs with listRoot's. What it
// declares ends with it, and the else does not see what the list declares.
func (s *scan) control(p *parse.PipeNode, list, elseList *parse.ListNode, listRoot, rootDot bool) {
	outer := len(s.vars)
	s.depth++
	s.pipe(p, rootDot)
	inner := len(s.vars)
	s.list(list, listRoot)
	s.vars = s.vars[:inner]
	s.list(elseList, rootDot)
	s.vars = s.vars[:outer]
	s.depth--
}

func (s *scan) pipe(p *parse.PipeNode, rootDot bool) {
	if p == nil {
		return
	}
	for _, c := range p.Cmds {
		budgeted := !s.anyData && s.budgeted(ident(c))
		for i, a := range c.Args {
			s.arg(a, rootDot, i == 1 && budgeted)
		}
	}
	for _, v := range p.Decl {
		switch {
		case p.IsAssign:
			// Setting a variable declared outside changes what later
			// nodes see.
			s.ok = s.ok && s.local(v.Ident[0])
		case s.depth == 0:
			s.ok = false
		default:
			s.vars = append(s.vars, v.Ident[0])
		}
	}
}

// arg scans an argument; budget is whether it is the data a budgeted
// function takes first.
func (s *scan) arg(n parse.Node, rootDot, budget bool) {
	switch x := n.(type) {
	case *parse.StringNode, *parse.NumberNode, *parse.BoolNode, *parse.NilNode:
	case *parse.IdentifierNode:
		s.ok = s.ok && pure(x.Ident)
	case *parse.DotNode:
		s.ok = s.ok && (!rootDot || s.anyData)
	case *parse.FieldNode:
		s.ok = s.ok && (!rootDot || s.anyData || s.shared(x.Ident))
	case *parse.VariableNode:
		switch {
		case x.Ident[0] != "$":
			s.ok = s.ok && s.local(x.Ident[0])
		case len(x.Ident) == 1:
			s.ok = s.ok && budget
		default:
			s.ok = s.ok && (s.anyData || s.shared(x.Ident[1:]))
		}
	case *parse.ChainNode:
		s.arg(x.Node, rootDot, false)
	case *parse.PipeNode:
		s.pipe(x, rootDot)
	default:
		s.ok = false
	}
}

// local reports whether a variable is one the node declared, in scope here.
func (s *scan) local(name string) bool {
	for i := len(s.vars) - 1; i >= 0; i-- {
		if s.vars[i] == name {
			return true
		}
	}
	return false
}

// rootDotTemplates names the templates of a set that run only with the
// root data as dot: root, and those called only by such templates, with .
// or $, where their dot is the root data. ok is false when a call names a
// template trees does not hold, as html/template's copies of a template
// for other contexts are not.
func rootDotTemplates(trees map[string]*parse.Tree, root string) (names map[string]bool, ok bool) {
	type call struct {
		from string
		good bool
	}
	calls := map[string][]call{}
	ok = true
	for name, t := range trees {
		visit(t.Root, place{ownDot: true}, func(n parse.Node, at place) {
			if x, isCall := n.(*parse.TemplateNode); isCall {
				ok = ok && trees[x.Name] != nil
				calls[x.Name] = append(calls[x.Name], call{name, at.ownDot && passesRoot(x.Pipe)})
			}
		})
	}
	if !ok || trees[root] == nil || len(calls[root]) > 0 {
		return nil, false
	}
	names = map[string]bool{root: true}
	for grew := true; grew; {
		grew = false
		for name, cs := range calls {
			all := !names[name]
			for _, c := range cs {
				all = all && c.good && names[c.from]
			}
			if all {
				names[name], grew = true, true
			}
		}
	}
	return names, true
}

// passesRoot reports whether a template call's pipeline is . or $ alone.
func passesRoot(p *parse.PipeNode) bool {
	if p == nil || len(p.Decl) > 0 || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return false
	}
	switch x := p.Cmds[0].Args[0].(type) {
	case *parse.DotNode:
		return true
	case *parse.VariableNode:
		return len(x.Ident) == 1 && x.Ident[0] == "$"
	}
	return false
}

// setsDollar reports whether a template set declares or sets $, which a
// variant takes to be the root data throughout: after {{$ = .Contact}},
// $.Org would be personal. Such a set gets no variant.
func setsDollar(trees map[string]*parse.Tree) bool {
	found := false
	var pipe func(p *parse.PipeNode)
	arg := func(a parse.Node) {
		switch x := a.(type) {
		case *parse.PipeNode:
			pipe(x)
		case *parse.ChainNode:
			if p, ok := x.Node.(*parse.PipeNode); ok {
				pipe(p)
			}
		}
	}
	pipe = func(p *parse.PipeNode) {
		if p == nil {
			return
		}
		for _, v := range p.Decl {
			found = found || v.Ident[0] == "$"
		}
		for _, c := range p.Cmds {
			for _, a := range c.Args {
				arg(a)
			}
		}
	}
	for _, t := range trees {
		visit(t.Root, place{}, func(n parse.Node, _ place) {
			switch x := n.(type) {
			case *parse.ActionNode:
				pipe(x.Pipe)
			case *parse.IfNode:
				pipe(x.Pipe)
			case *parse.RangeNode:
				pipe(x.Pipe)
			case *parse.WithNode:
				pipe(x.Pipe)
			case *parse.TemplateNode:
				pipe(x.Pipe)
			}
		})
	}
	return found
}
