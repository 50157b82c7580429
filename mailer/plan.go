package mailer

import (
	"strings"
	"text/template/parse"
)

// A variant's text part is mostly text once folded, with a few reads of
// the recipient's fields: where it is nothing else, the variant writes it
// from a plan, without text/template's reflection. A text part has no
// escapers; a read is one of the data contract's text fields, or one key
// of .Contact.Attributes or .Data, through default with a quoted string
// and textout, the functions being Herald's own. Anything else, and the
// part runs through text/template.

// plan is what a part writes, in order.
type plan []step

// step writes text as it is (cues included), a read's value, or a plan of a
// template called with the root data.
type step struct {
	text []byte
	read *read
	call plan
}

// read is an action that reads one value of the data and prints it.
type read struct {
	// field names a text field to read; else key is read from
	// .Contact.Attributes, or from .Data when data is set.
	field string
	key   string
	data  bool
	// def, when set, is default's quoted string; textout prints the value
	// as textout does.
	def     *string
	textout bool
}

func (r *read) value(d *Data) string {
	var v any
	switch {
	case r.field != "":
		v, _ = textField(d, r.field)
	case r.data:
		v = d.Data[r.key]
	default:
		v = d.Contact.Attributes[r.key]
	}
	if r.def != nil {
		v = defaultValue(*r.def, v)
	}
	if r.textout {
		return textOut(v)
	}
	// Without textout only text fields are read, and default keeps text.
	return v.(string)
}

// run writes the plan for d.
func (p plan) run(w *capped, d *Data) error {
	for _, s := range p {
		var err error
		switch {
		case s.read != nil:
			err = w.writeString(s.read.value(d))
		case s.call != nil:
			err = s.call.run(w, d)
		default:
			_, err = w.Write(s.text)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// textField reads one of the data contract's text fields, named by its
// path; ok is false for any other path.
func textField(d *Data, path string) (s string, ok bool) {
	switch path {
	case "Contact.Email":
		return d.Contact.Email, true
	case "Contact.FirstName":
		return d.Contact.FirstName, true
	case "Contact.LastName":
		return d.Contact.LastName, true
	case "Campaign.Name":
		return d.Campaign.Name, true
	case "Campaign.Subject":
		return d.Campaign.Subject, true
	case "Org.Name":
		return d.Org.Name, true
	case "Org.Address":
		return d.Org.Address, true
	case "Org.URL":
		return d.Org.URL, true
	case "Links.Unsubscribe":
		return d.Links.Unsubscribe, true
	case "Links.Preferences":
		return d.Links.Preferences, true
	case "Links.WebView":
		return d.Links.WebView, true
	}
	return "", false
}

// planOf makes the plan of a template of a text part whose dot is the root
// data, calling only others of names; ok is false when a node is not one
// a plan writes. depth stops a template that calls itself.
func planOf(trees map[string]*parse.Tree, names map[string]bool, name string, depth int) (p plan, ok bool) {
	if depth > len(trees) {
		return nil, false
	}
	for _, n := range trees[name].Root.Nodes {
		switch x := n.(type) {
		case *parse.TextNode:
			p = append(p, step{text: x.Text})
		case *parse.ActionNode:
			r := readOf(x.Pipe)
			if r == nil {
				return nil, false
			}
			p = append(p, step{read: r})
		case *parse.TemplateNode:
			if !names[x.Name] || !passesRoot(x.Pipe) {
				return nil, false
			}
			called, ok := planOf(trees, names, x.Name, depth+1)
			if !ok {
				return nil, false
			}
			p = append(p, step{call: called})
		default:
			return nil, false
		}
	}
	return p, true
}

// readOf is the read an action's pipeline makes, or nil: a path, then
// default with a quoted string, then textout, the last two either left out.
func readOf(pipe *parse.PipeNode) *read {
	if len(pipe.Decl) > 0 {
		return nil
	}
	cmds := pipe.Cmds
	r := &read{}
	if last := cmds[len(cmds)-1]; len(last.Args) == 1 && ident(last) == "textout" {
		r.textout, cmds = true, cmds[:len(cmds)-1]
	}
	if len(cmds) == 2 && len(cmds[1].Args) == 2 && ident(cmds[1]) == "default" {
		s, ok := cmds[1].Args[1].(*parse.StringNode)
		if !ok {
			return nil
		}
		r.def, cmds = &s.Text, cmds[:1]
	}
	if len(cmds) != 1 || len(cmds[0].Args) != 1 {
		return nil
	}
	var path []string
	switch x := cmds[0].Args[0].(type) {
	case *parse.FieldNode:
		path = x.Ident
	case *parse.VariableNode:
		if x.Ident[0] != "$" {
			return nil
		}
		path = x.Ident[1:]
	}
	if _, ok := textField(&Data{}, strings.Join(path, ".")); ok {
		r.field = strings.Join(path, ".")
		return r
	}
	switch {
	case len(path) == 2 && path[0] == "Data" && r.textout:
		r.key, r.data = path[1], true
	case len(path) == 3 && path[0] == "Contact" && path[1] == "Attributes" && r.textout:
		r.key = path[2]
	default:
		return nil
	}
	return r
}
