package mailer

import (
	"bytes"
	"errors"
	htmltemplate "html/template"
	"io"
	"sync"
	"sync/atomic"
	texttemplate "text/template"
	"text/template/parse"
)

// Most of a campaign's message is the same for every recipient: the
// layout, the stories, the organisation's name and address. A variant of a
// Compiled's templates has each run of top-level nodes that reads only
// shared data, and spends none of the budget, replaced by the text it
// rendered for one recipient, so the others execute only the rest. The
// variant's trees are escaped like the originals before anything is
// replaced, so escaping and the variables, loops and conditions of what is
// left are those of the templates as written.

// shared is the data every recipient of a campaign has in common; a
// variant serves the renders whose shared data is its own.
type shared struct {
	Campaign CampaignData
	Org      OrgData
}

// variant is a Compiled's templates with what reads only key rendered,
// the cues of the actions it runs once, and the plan of its text part if
// it has one.
type variant struct {
	key      shared
	html     *htmltemplate.Template
	text     *texttemplate.Template
	replay   replay
	textPlan plan
}

// variants holds a Compiled's variant. A variant is built when a render's
// shared data is that of the render before it, so a template rendered once,
// as for a preview, builds none, and at most maxBuilds times.
type variants struct {
	current atomic.Pointer[variant]
	mu      sync.Mutex
	last    shared
	seen    bool
	builds  int
}

const maxBuilds = 3

// variantFor is the chooser of Render.
func (c *Compiled) variantFor(asPassed, d Data) *variant {
	key := c.sharedOf(d)
	vs := &c.variants
	if v := vs.current.Load(); v != nil && v.key == key {
		return v
	}
	if !vs.mu.TryLock() {
		// Another render is building one.
		return nil
	}
	defer vs.mu.Unlock()
	if v := vs.current.Load(); v != nil && v.key == key {
		return v
	}
	if vs.builds >= maxBuilds || !vs.seen || vs.last != key {
		vs.last, vs.seen = key, true
		return nil
	}
	vs.builds++
	v := c.tryBuildVariant(asPassed, d, key)
	if v != nil {
		vs.current.Store(v)
	}
	return v
}

// tryBuildVariant is buildVariant, giving nil should it panic: a variant
// only saves time, and the templates as written render without it. Tests
// call buildVariant, where a panic shows.
func (c *Compiled) tryBuildVariant(asPassed, d Data, key shared) (v *variant) {
	defer func() {
		if recover() != nil {
			v = nil
		}
	}()
	return c.buildVariant(asPassed, d, key)
}

// sharedOf is the shared data of a render, once the subject is in
// .Campaign.Subject.
func (c *Compiled) sharedOf(d Data) shared {
	key := shared{Campaign: d.Campaign, Org: d.Org}
	if !c.fold.subjectShared {
		key.Campaign.Subject = ""
	}
	return key
}

// buildVariant parses the templates again, escapes them and folds them for
// d, the data of a render once its subject is known. It returns nil unless
// the variant renders as the templates as written do, and spends the same.
func (c *Compiled) buildVariant(asPassed, d Data, key shared) *variant {
	v := &variant{key: key, replay: replay{cues: map[*byte]cue{}}}
	if c.html != nil {
		ht, err := parseHTML(c.src.htmlLayout, c.src.htmlBody)
		if err != nil {
			return nil
		}
		escape(ht, d)
		dropEscapedCharges(ht)
		trees := htmlTrees(ht)
		k := c.fold
		k.html = true
		if setsDollar(trees) || !sameTrees(htmlTrees(c.html), trees) || !k.fold(trees, d, func(w io.Writer, d Data) error { return ht.Execute(w, d) }) {
			return nil
		}
		k.repeat(trees, &v.replay)
		v.html = ht
	}
	tt, err := parseText("layout", c.src.textLayout, c.src.textPart, c.src.textBody)
	if err != nil {
		return nil
	}
	trees := textTrees(tt)
	if setsDollar(trees) || !sameTrees(textTrees(c.text), trees) || !c.fold.fold(trees, d, func(w io.Writer, d Data) error { return tt.Execute(w, d) }) {
		return nil
	}
	c.fold.repeat(trees, &v.replay)
	v.text = tt
	if names, ok := rootDotTemplates(trees, "layout"); ok {
		v.textPlan, _ = planOf(trees, names, "layout", 0)
	}
	plain := c.render(asPassed, nil)
	fast := c.render(asPassed, func(Data, Data) *variant { return v })
	if plain.err != nil || fast.err != nil || plain.Rendered != fast.Rendered || plain.left != fast.left {
		return nil
	}
	return v
}

// errEscaped stops the render that escapes a template set.
var errEscaped = errors.New("escaped")

type stopWriter struct{}

func (stopWriter) Write([]byte) (int, error) { return 0, errEscaped }

// escape has html/template escape t, which it does on the first Execute,
// stopping that render at its first write.
func escape(t *htmltemplate.Template, d Data) {
	b := fullBudget()
	b.part()
	d.budget = &b
	_ = t.Execute(stopWriter{}, d)
}

func htmlTrees(t *htmltemplate.Template) map[string]*parse.Tree {
	trees := map[string]*parse.Tree{}
	for _, x := range t.Templates() {
		if x.Tree != nil {
			trees[x.Name()] = x.Tree
		}
	}
	return trees
}

func textTrees(t *texttemplate.Template) map[string]*parse.Tree {
	trees := map[string]*parse.Tree{}
	for _, x := range t.Templates() {
		if x.Tree != nil {
			trees[x.Name()] = x.Tree
		}
	}
	return trees
}

// sameTrees reports whether two sets hold the same templates, node for node.
func sameTrees(a, b map[string]*parse.Tree) bool {
	if len(a) != len(b) {
		return false
	}
	for name, t := range a {
		if b[name] == nil || t.Root.String() != b[name].Root.String() {
			return false
		}
	}
	return true
}

// fold renders a part's templates once for d, through execute, with a
// marker between every two top-level nodes of the templates whose dot is
// the root data, and then replaces each run of those nodes that reads only
// shared data, and spent nothing, with the text it wrote.
func (k classifier) fold(trees map[string]*parse.Tree, d Data, execute func(io.Writer, Data) error) bool {
	names, ok := rootDotTemplates(trees, "layout")
	if !ok {
		return false
	}
	rec := &recorder{capped: &capped{b: new(bytes.Buffer), budget: fullBudget()}, marks: map[*byte]int{}}
	nodes := map[string][]parse.Node{}
	first := map[string]int{}
	for name := range names {
		l := trees[name].Root
		nodes[name], first[name] = l.Nodes, len(rec.seen)
		marked := make([]parse.Node, 0, 2*len(l.Nodes)+1)
		for _, n := range l.Nodes {
			marked = append(marked, rec.marker(), n)
		}
		l.Nodes = append(marked, rec.marker())
	}
	rec.newPart()
	d.budget = &rec.budget
	err := execute(rec, d)
	for name, ns := range nodes {
		trees[name].Root.Nodes = ns
		if err == nil {
			trees[name].Root.Nodes = k.folded(ns, rec, first[name])
		}
	}
	return err == nil
}

// folded is nodes with each run of constant nodes that spent nothing in
// rec's render replaced by their text; the markers around nodes[i] are
// rec's first+i and first+i+1.
func (k classifier) folded(nodes []parse.Node, rec *recorder, first int) []parse.Node {
	fixed := func(i int) bool {
		before, after := rec.seen[first+i], rec.seen[first+i+1]
		return before.ok && after.ok && before.left == after.left && k.constant(nodes[i])
	}
	out := make([]parse.Node, 0, len(nodes))
	for i := 0; i < len(nodes); {
		if !fixed(i) {
			out = append(out, nodes[i])
			i++
			continue
		}
		j := i + 1
		for j < len(nodes) && fixed(j) {
			j++
		}
		if text := rec.b.Bytes()[rec.seen[first+i].at:rec.seen[first+j].at]; len(text) > 0 {
			out = append(out, &parse.TextNode{NodeType: parse.NodeText, Pos: nodes[i].Position(), Text: bytes.Clone(text)})
		}
		i = j
	}
	return out
}

// recorder writes a render like capped, and notes where in it, and with
// what left of the budget, each marker is reached first. A marker is a
// text node of its own one byte, which text/template writes as it is.
type recorder struct {
	*capped
	marks map[*byte]int
	seen  []reached
}

// reached is where a render reached a marker.
type reached struct {
	ok   bool
	at   int
	left counts
}

func (r *recorder) marker() parse.Node {
	n := &parse.TextNode{NodeType: parse.NodeText, Text: []byte{0}}
	r.marks[&n.Text[0]] = len(r.seen)
	r.seen = append(r.seen, reached{})
	return n
}

func (r *recorder) Write(p []byte) (int, error) {
	if len(p) == 1 {
		if i, ok := r.marks[&p[0]]; ok {
			if !r.seen[i].ok {
				r.seen[i] = reached{true, r.b.Len(), r.counts()}
			}
			return 1, nil
		}
	}
	return r.capped.Write(p)
}
