package mailer

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// markdownShape is a kind of Markdown body that costs goldmark time
// growing faster than its size, or makes much more HTML than it is long:
// body(n) converts, body(n+1) is refused with want.
type markdownShape struct {
	name string
	body func(n int) string
	n    int
	want string
}

var repeat = strings.Repeat

const (
	wantNesting   = "more than 32 levels of quotes and lists; nest them less deeply"
	wantSize      = "the Markdown goes past 64 KB here"
	wantMarks     = "brackets and emphasis marks ([ ] * _ ~ `)"
	wantCells     = "the tables would have more than 10000 cells"
	wantAddresses = "too many www. and :// up to here are followed by long names"
	wantTargets   = "the links would repeat more than 256 KB of addresses and titles"
	wantMarkers   = "more than 8192 quotes and list items"
)

var markdownShapes = []markdownShape{
	{"quotes in quotes", func(n int) string { return repeat(">", n) + "a" }, 32, "line 1, column 33: " + wantNesting},
	{"lists in lists", func(n int) string { return repeat("- ", n) + "a" }, 32, "line 1, column 65: " + wantNesting},
	{"lists in lists by indentation", func(n int) string {
		var b strings.Builder
		for i := range n {
			b.WriteString(repeat("  ", i) + "- a\n")
		}
		return b.String()
	}, 32, "line 33, column 65: " + wantNesting},
	{"lists in quotes", func(n int) string { return repeat("> - ", n) + "a" }, 16, "line 1, column 65: " + wantNesting},
	{"unclosed links", func(n int) string { return repeat("[a](", n) }, 1448, "line 1, column 1: this paragraph has 2898 " + wantMarks + " in 6 KB"},
	{"unclosed images", func(n int) string { return repeat("![a](", n) }, 1295, "line 1, column 1: this paragraph has 2592 " + wantMarks},
	{"brackets in brackets", func(n int) string { return repeat("[", n) + "a" + repeat("]", n) + "(x)" }, 2047, "this paragraph has 4096 " + wantMarks},
	{"emphasis of every kind", func(n int) string { return repeat("*a_a~a", n) }, 965, "this paragraph has 2898 " + wantMarks},
	{"emphasis that never closes", func(n int) string { return repeat("*a ", n) + repeat("a_ ", n) }, 1182, "this paragraph has 2366 " + wantMarks},
	{"a run of ~", func(n int) string { return "a" + repeat("~", n) }, 4095, "this paragraph has 4096 " + wantMarks},
	{"code spans without an end", func(n int) string { return repeat("\\``\n", n) }, 254, "this paragraph has 255 " + wantMarks},
	{"backticks of every length", func(n int) string {
		var b strings.Builder
		for i := 1; i <= n; i++ {
			b.WriteString(repeat("`", i) + "a")
		}
		return b.String()
	}, 321, "this paragraph has 322 " + wantMarks},
	{"a wide table over short rows", func(n int) string {
		return repeat("|a", 100) + "|\n" + repeat("|-", 100) + "|\n" + repeat("a\n", n)
	}, 97, "line 100, column 1: " + wantCells},
	{"a table on long lines of |", func(n int) string {
		return repeat("|a", n) + "|\n" + repeat("|-", n) + "|\n" + repeat("|a", n) + "|\n"
	}, 4998, "line 3, column 1: " + wantCells},
	{"web addresses with long names", func(n int) string { return repeat(repeat("~www.", 16)+"\n\n", n) }, 212, "line 425, column 1: " + wantAddresses},
	{"a long reference used often", func(n int) string { return "[a]: " + repeat("x", 1024) + "\n\n" + repeat("[a]\n\n", n) }, 256, "line 515, column 1: " + wantTargets},
	{"many quotes", func(n int) string { return repeat(">\n", n) }, 8192, "line 8193, column 1: " + wantMarkers},
	{"HTML-like tags", func(n int) string { return repeat("<a b='", n) }, 10922, "line 1, column 65537: " + wantSize},
	{"lines that start HTML tags", func(n int) string { return repeat("<a\n", n) }, 21845, "line 21846, column 2: " + wantSize},
	{"entities", func(n int) string { return repeat("&amp;", n) }, 13107, "line 1, column 65537: " + wantSize},
	{"plain text", func(n int) string { return repeat("a\n", n) }, 32768, "line 32769, column 1: " + wantSize},
}

// TestMarkdownLimits converts each shape at its limit, and refuses it just
// past, saying where and what to change.
func TestMarkdownLimits(t *testing.T) {
	t.Parallel()
	for _, s := range markdownShapes {
		t.Run(s.name, func(t *testing.T) {
			if _, err := Compile(Source{Subject: "s", Format: FormatMarkdown, Body: s.body(s.n)}); err != nil {
				t.Fatalf("at the limit: got %v, want it converted", err)
			}
			_, err := Compile(Source{Subject: "s", Format: FormatMarkdown, Body: s.body(s.n + 1)})
			var te *TemplateError
			if !errors.As(err, &te) || te.Part != "body" || !strings.Contains(RenderError(te), s.want) {
				t.Fatalf("past the limit: got %v, want a body error with %q", err, s.want)
			}
		})
	}
}

// TestMarkdownRefusesTheReviewedBodies refuses the bodies that once took
// goldmark many seconds, at once.
func TestMarkdownRefusesTheReviewedBodies(t *testing.T) {
	t.Parallel()
	for _, body := range []string{repeat(">", 200_000) + "a", repeat("- ", 100_000) + "a", repeat("[a](", 100_000)} {
		_, err := Compile(Source{Subject: "s", Format: FormatMarkdown, Body: body})
		if err == nil || !strings.Contains(err.Error(), "line 1, column 65537: "+wantSize) {
			t.Errorf("%.12q…: got %v, want the size limit", body, err)
		}
	}
}

// TestMarkdownLimitsPointAtTheBodyAsWritten places a limit in the body as
// its author wrote it, though goldmark reads its actions as markers of
// other lengths.
func TestMarkdownLimitsPointAtTheBodyAsWritten(t *testing.T) {
	t.Parallel()
	long := "{{.Contact.FirstName}} " + repeat("a", MaxMarkdown)
	_, err := Compile(Source{Subject: "s", Format: FormatMarkdown, Body: long})
	var te *TemplateError
	// The 22-byte action is a 14-byte marker: the limit falls 8 bytes later.
	if !errors.As(err, &te) || te.Line != 1 || te.Col != MaxMarkdown+9 {
		t.Errorf("got %v, want line 1, column %d", err, MaxMarkdown+9)
	}

	// Short actions make longer markers; a place inside one is the action's.
	short := "a\n" + repeat("{{.}}", 5000)
	_, err = Compile(Source{Subject: "s", Format: FormatMarkdown, Body: short})
	if !errors.As(err, &te) || te.Line != 2 || te.Col%5 != 1 || !strings.Contains(te.Message, wantSize) {
		t.Errorf("got %v, want line 2 at the start of an action", err)
	}
}

// newsletterMarkdown is a 20 KB newsletter in Markdown: 50 articles, each
// with a heading, emphasis, code, a quote and four links, then a table.
func newsletterMarkdown() string {
	var b strings.Builder
	b.WriteString("# Weekly news, {{.Contact.FirstName | default \"friend\"}}\n\nHere is what happened near {{.Contact.Attributes.city | default \"you\"}} this week.\n\n")
	for i := range 50 {
		fmt.Fprintf(&b, `## %d. The bakery tries a *new* loaf

We baked something new this week: **rye and honey**, proofed for `+"`18 hours`"+`. Read
[how it is made](https://bakery.example/stories/%d?utm_source=news&utm_medium=email), or come and taste it.

> Best bread in town. _A regular_

- [Read the whole story](https://bakery.example/stories/%d)
- [See the photos](https://bakery.example/photos/%d)
- [Order a loaf](https://shop.bakery.example/order?item=%d&ref={{.Contact.Attributes.ref}})

`, i+1, i, i, i, i)
	}
	b.WriteString("| Day | Event | Where |\n|---|---|---|\n")
	for _, day := range []string{"Mon", "Tue", "Wed", "Thu", "Fri"} {
		fmt.Fprintf(&b, "| %s | Tasting | The shop |\n", day)
	}
	b.WriteString("\n[Unsubscribe]({{unsubscribe_url}}) · [Preferences]({{preferences_url}})\n")
	return b.String()
}

// oneParagraph is 20 KB of Markdown without a blank line, a list or a
// heading: 200 links and 100 emphases in one paragraph.
func oneParagraph() string {
	var b strings.Builder
	for i := 0; b.Len() < 20<<10; i++ {
		if i < 200 {
			fmt.Fprintf(&b, "Read [story %d](https://bakery.example/stories/%d) ", i, i)
		}
		if i < 100 {
			b.WriteString("while it is *warm*, ")
		}
		b.WriteString("and tell a friend about the bakery.\n")
	}
	return b.String()
}

func TestMarkdownNewsletterPasses(t *testing.T) {
	t.Parallel()
	body := newsletterMarkdown()
	// Written without blank lines, it passes too: headings and list items
	// end paragraphs as well.
	for _, b := range []string{body, strings.ReplaceAll(body, "\n\n", "\n"), oneParagraph()} {
		if len(b) < 20<<10 || strings.Count(b, "](") < 200 {
			t.Fatalf("the body has %d bytes and %d links, want 20 KB and 200", len(b), strings.Count(b, "]("))
		}
		if _, err := Compile(Source{Subject: "News", Format: FormatMarkdown, Body: b, Layout: DefaultLayout}); err != nil {
			t.Errorf("got %v, want it converted", err)
		}
	}
}

// BenchmarkMarkdownWorstAccepted converts each shape at its limit: the
// slowest Markdown bodies Herald accepts.
func BenchmarkMarkdownWorstAccepted(b *testing.B) {
	for _, s := range markdownShapes {
		body := s.body(s.n)
		b.Run(s.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := markdownToHTML(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
