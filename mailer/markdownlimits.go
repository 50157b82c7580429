package mailer

import (
	"fmt"
	"strings"

	"github.com/yuin/goldmark/ast"
)

// Limits on a Markdown body. goldmark has none of its own, and some shapes
// cost it time that grows with the square of their size; within these
// limits the slowest body converts in a few tens of milliseconds on a
// 2-core machine.
const (
	// MaxMarkdown caps the bytes of a Markdown body, once its template
	// actions are set aside: even with nothing troublesome in it, goldmark
	// may spend a few tenths of a microsecond on a byte. 64 KB is about
	// 10,000 words, three times a long newsletter.
	MaxMarkdown = 64 << 10
	// MaxNesting caps the quotes and lists one line is inside: goldmark
	// measures the line again for each one it opens or continues.
	MaxNesting = 32
	// MaxBlockMarkers caps the > and list markers of a body: each may open
	// a quote or a list item and its list, some 30 bytes of HTML from one
	// or two of Markdown, and the rest of a render works through every
	// byte of HTML. A newsletter has a few hundred.
	MaxBlockMarkers = 8192
	// MaxMarkWork caps the marks of each paragraph (brackets, and runs of
	// *, _, ~ and `) times its bytes, summed over the paragraphs: at a mark,
	// goldmark may look back or ahead through the whole paragraph, for
	// unclosed brackets, link targets, emphasis without a partner and code
	// spans without an end. A 20 KB newsletter written as one paragraph
	// with 200 links and 100 emphases takes three quarters of it.
	MaxMarkWork = 16 << 20
	// MaxTableCells caps the cells of all tables, with the empty ones
	// goldmark adds to fill each row to the width of its header: a wide
	// header over many short rows would otherwise be a great many.
	MaxTableCells = 10_000
	// MaxAddressText caps the characters of host names after each www.
	// and :// (up to 256 each, as goldmark reads no more), summed: goldmark
	// matches a pattern for web addresses there after every space, mark or
	// link, sometimes twice, at about 60 ns a character. Real addresses
	// take a few dozen each.
	MaxAddressText = 128 << 10
	// MaxLinkTargets caps the bytes of the targets and titles of all links
	// and images: a reference link repeats its definition's each time it is
	// used, so a short body could make a huge one, and goldmark spends
	// about 50 ns escaping a byte of target.
	MaxLinkTargets = 256 << 10
)

var (
	errMarkdownSize = fmt.Sprintf("the Markdown goes past %d KB here; shorten it, or split it into several emails", MaxMarkdown>>10)
	errNesting      = fmt.Sprintf("more than %d levels of quotes and lists; nest them less deeply", MaxNesting)
	errBlockMarkers = fmt.Sprintf("more than %d quotes and list items (each > or list marker at the start of a line counts); use fewer, or shorten the Markdown", MaxBlockMarkers)
	errTableCells   = fmt.Sprintf("the tables would have more than %d cells, counting the empty ones that fill each row to the width of its header; use fewer columns or rows", MaxTableCells)
	errAddressText  = "too many www. and :// up to here are followed by long names, which are slow to check for web addresses; break the names up with spaces"
	errLinkTargets  = fmt.Sprintf("the links would repeat more than %d KB of addresses and titles; give the reference links used most shorter addresses, or use them less", MaxLinkTargets>>10)
)

// markdownLimit is a limit a Markdown body goes past, at pos in the text
// goldmark reads.
type markdownLimit struct {
	pos int
	msg string
}

// paragraph is a run of lines such that every paragraph, heading or table
// cell goldmark finds lies inside one: it ends at a blank line, and before
// a list item or a heading, which always start a block of their own.
type paragraph struct {
	start, end, lines, marks, ticks int
	// cols sums the columns of the delimiter rows of tables so far: each
	// line after one may be a row of that table.
	cols int
}

// markdownScan is what checkMarkdown has counted so far.
type markdownScan struct {
	p                    paragraph
	seen, cells, address int
	markers              int
	work                 int64
	worst                paragraph
}

// checkMarkdown refuses a body that would take goldmark too long to
// convert, before goldmark sees it. In one pass over the text it counts
// what makes goldmark slow, never less than goldmark would meet.
func checkMarkdown(src string) *markdownLimit {
	if len(src) > MaxMarkdown {
		return &markdownLimit{MaxMarkdown, errMarkdownSize}
	}
	s := markdownScan{p: paragraph{start: -1}}
	for at := 0; at < len(src); {
		line := src[at:]
		if i := strings.IndexByte(line, '\n'); i >= 0 {
			line = line[:i+1]
		}
		if l := s.line(at, line); l != nil {
			return l
		}
		at += len(line)
	}
	s.end(len(src))
	if s.work > MaxMarkWork {
		w := s.worst
		return &markdownLimit{w.start, fmt.Sprintf("this paragraph has %d brackets and emphasis marks ([ ] * _ ~ `) in %d KB, too many to convert quickly; split it with blank lines, or use fewer of them", w.marks, (w.end-w.start+1023)>>10)}
	}
	return nil
}

// line counts the line at offset at.
func (s *markdownScan) line(at int, line string) *markdownLimit {
	content := strings.TrimLeft(line, " ")
	if strings.Trim(content, " \t\r\n") == "" {
		s.end(at)
		return nil
	}
	n, markers, past := nesting(line, s.seen)
	if past >= 0 {
		return &markdownLimit{at + past, errNesting}
	}
	if s.markers += markers; s.markers > MaxBlockMarkers {
		return &markdownLimit{at, errBlockMarkers}
	}
	s.seen = max(s.seen, n)
	heading := false
	if len(line)-len(content) <= 3 {
		heading = headingMarker(content) > 0
		if heading || listItem(content) {
			s.end(at)
		}
	}
	if s.p.start < 0 {
		s.p.start = at
	} else {
		// Each line may be a row of every table above it, and the line
		// before a delimiter row may be its header.
		c := delimiterCols(line)
		s.cells += s.p.cols + c
		s.p.cols += c
	}
	if s.cells > MaxTableCells {
		return &markdownLimit{at, errTableCells}
	}
	m, t := marks(line)
	s.p.marks += m
	s.p.ticks += t
	s.p.lines++
	if s.address += addressText(line, MaxAddressText-s.address); s.address > MaxAddressText {
		return &markdownLimit{at, errAddressText}
	}
	if heading {
		s.end(at + len(line))
	}
	return nil
}

// end closes the paragraph under way, if any, at offset at.
func (s *markdownScan) end(at int) {
	if s.p.start >= 0 {
		s.p.end = at
		if s.work += s.p.work(); s.p.work() > s.worst.work() {
			s.worst = s.p
		}
	}
	s.p = paragraph{start: -1}
}

// work is what goldmark may spend on the paragraph's marks: at each, a
// pass over its bytes. A code span without an end also makes a node for
// each line it passes, which costs as much as a few hundred bytes.
func (p paragraph) work() int64 {
	return int64(p.marks)*int64(p.end-p.start) + int64(p.ticks)*int64(p.lines)*256
}

// nesting counts the quotes and lists line may be inside, at most: each >
// and each list marker opens or continues one, and two columns of other
// indentation may continue a list an earlier line opened, so they count up
// to seen, the most levels of any earlier line. markers counts the > and
// list markers; past is the offset of the level past MaxNesting, or -1.
func nesting(line string, seen int) (levels, markers, past int) {
	indent, col := 0, 0
	for i := 0; i < len(line); {
		start := i
		switch c := line[i]; {
		case c == ' ' || c == '\t':
			w := 1
			if c == '\t' {
				w = 4 - col%4
			}
			indent += w
			col += w
			i++
		case c == '>':
			markers++
			col++
			if i++; i < len(line) && line[i] == ' ' {
				col++
				i++
			}
		default:
			w := listMarker(line[i:])
			if w == 0 {
				return markers + min(indent/2, seen), markers, -1
			}
			markers++
			i += w
			col += w
			// The spaces after a marker belong to its item.
			for ; i < len(line) && (line[i] == ' ' || line[i] == '\t'); i++ {
				col++
			}
		}
		if markers+min(indent/2, seen) > MaxNesting {
			return 0, markers, start
		}
	}
	return markers + min(indent/2, seen), markers, -1
}

// listMarker is the width of the list marker s starts with, or 0: -, + or
// *, or up to nine digits and . or ), then a space, a tab or the line's end.
func listMarker(s string) int {
	w := 0
	switch {
	case s[0] == '-' || s[0] == '+' || s[0] == '*':
		w = 1
	case s[0] >= '0' && s[0] <= '9':
		for w < len(s) && w < 10 && s[w] >= '0' && s[w] <= '9' {
			w++
		}
		if w > 9 || w == len(s) || (s[w] != '.' && s[w] != ')') {
			return 0
		}
		w++
	default:
		return 0
	}
	if w < len(s) && strings.IndexByte(" \t\r\n", s[w]) < 0 {
		return 0
	}
	return w
}

// listItem reports whether s starts a bullet list item with text, which
// ends any paragraph before it.
func listItem(s string) bool {
	return (s[0] == '-' || s[0] == '+' || s[0] == '*') && len(s) > 1 && (s[1] == ' ' || s[1] == '\t') &&
		strings.Trim(s[1:], " \t\r\n") != ""
}

// headingMarker is the number of # that start s as a heading, or 0.
func headingMarker(s string) int {
	n := 0
	for n < len(s) && s[n] == '#' {
		n++
	}
	if n == 0 || n > 6 || (n < len(s) && strings.IndexByte(" \t\r\n", s[n]) < 0) {
		return 0
	}
	return n
}

// delimiterCols is the number of columns of the table line would be the
// delimiter row of, or 0: after quotes and indentation, only -, :, | and
// spaces, with at least one -.
func delimiterCols(line string) int {
	rest := strings.TrimLeft(line, " \t>")
	if strings.Trim(rest, " \t\r\n|:-") != "" || strings.IndexByte(rest, '-') < 0 {
		return 0
	}
	return strings.Count(rest, "|") + 1
}

// marks counts what goldmark's inline parser may look far from in line:
// each [ and ], each run of *, _ or `, each run of one or two ~, and each ~
// of a longer run, which goldmark scans again from each of its ~. ticks
// counts the runs of `.
func marks(line string) (n, ticks int) {
	for i := 0; i < len(line); {
		c, j := line[i], i+1
		for j < len(line) && line[j] == c {
			j++
		}
		switch c {
		case '[', ']':
			n += j - i
		case '~':
			if n++; j-i > 2 {
				n += j - i - 1
			}
		case '*', '_':
			n++
		case '`':
			n++
			ticks++
		}
		i = j
	}
	return n, ticks
}

// addressText sums the characters of host names after each www. and ://
// in line, up to 256 each, stopping once past limit.
func addressText(line string, limit int) int {
	n := 0
	for i := 0; i < len(line) && n <= limit; i++ {
		if !strings.HasPrefix(line[i:], "www.") && !strings.HasPrefix(line[i:], "://") {
			continue
		}
		for j := i + 3; j < len(line) && j < i+3+256 && hostChar(line[j]); j++ {
			n++
		}
	}
	return n
}

// hostChar reports whether goldmark reads c as part of a host name.
func hostChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-@:%._+~#=", c) >= 0
}

// checkTargets refuses a parsed body whose links and images would repeat
// more than MaxLinkTargets of targets and titles: the renderer escapes and
// writes them once for each use.
func checkTargets(doc ast.Node) *markdownLimit {
	var limit *markdownLimit
	n := 0
	ast.Walk(doc, func(node ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch l := node.(type) {
		case *ast.Link:
			n += len(l.Destination) + len(l.Title)
		case *ast.Image:
			n += len(l.Destination) + len(l.Title)
		}
		if n > MaxLinkTargets {
			limit = &markdownLimit{node.Pos(), errLinkTargets}
			return ast.WalkStop, nil
		}
		return ast.WalkContinue, nil
	})
	return limit
}
