package mailer

import "text/template/parse"

// A variant runs an action that reads the recipient's data, and nothing
// that can change during a render, once per template it stands in: where
// the same action stands again at the top of that template, the render's
// writer copies what the action wrote the first time. Cues, text nodes of
// their own one byte that text/template writes as they are, tell the
// writer where.

// cue is what the writer does at a cue: note where a span starts or ends,
// or write the span again.
type cue struct {
	kind cueKind
	span int
}

type cueKind uint8

const (
	cueStart cueKind = iota
	cueEnd
	cueAgain
)

// replay is a variant's cues, and the number of spans they mark.
type replay struct {
	cues  map[*byte]cue
	spans int
}

// span is where in the render's buffer a span fell, in one render.
type span struct{ start, end int }

func (r *replay) cue(kind cueKind, span int) parse.Node {
	n := &parse.TextNode{NodeType: parse.NodeText, Text: []byte{0}}
	r.cues[&n.Text[0]] = cue{kind, span}
	return n
}

// repeat puts cues in the top-level lists of the templates whose dot is
// the root data: around the first of each repeatable action that stands
// more than once in a list, and in place of the others.
func (k classifier) repeat(trees map[string]*parse.Tree, r *replay) {
	names, _ := rootDotTemplates(trees, "layout")
	for name := range names {
		l := trees[name].Root
		count := map[string]int{}
		for _, n := range l.Nodes {
			if a, ok := n.(*parse.ActionNode); ok && k.repeatable(a) {
				count[a.String()]++
			}
		}
		spans := map[string]int{}
		out := make([]parse.Node, 0, len(l.Nodes))
		for _, n := range l.Nodes {
			a, ok := n.(*parse.ActionNode)
			if !ok || count[a.String()] < 2 {
				out = append(out, n)
				continue
			}
			if s, ok := spans[a.String()]; ok {
				out = append(out, r.cue(cueAgain, s))
				continue
			}
			spans[a.String()] = r.spans
			out = append(out, r.cue(cueStart, r.spans), a, r.cue(cueEnd, r.spans))
			r.spans++
		}
		l.Nodes = out
	}
}

// replayed does what a cue says, for a write of one byte.
func (c *capped) replayed(p []byte) (done bool, err error) {
	q, ok := c.replay.cues[&p[0]]
	if !ok {
		return false, nil
	}
	switch q.kind {
	case cueStart:
		c.spans[q.span].start = c.b.Len()
	case cueEnd:
		c.spans[q.span].end = c.b.Len()
	case cueAgain:
		s := c.spans[q.span]
		_, err = c.write(c.b.Bytes()[s.start:s.end])
	}
	return true, err
}
