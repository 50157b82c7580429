package track

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func testMessage(stored map[string]int64) *Message {
	return &Message{
		Signer: NewSigner([]byte("test key")), Base: "https://mail.example.com",
		Ref:   Ref{Campaign: 7, Send: 42, Sent: time.Unix(1_700_000_000, 0)},
		Opens: true, Clicks: true,
		Link: func(href string) (int64, bool) {
			dest := UTM{Source: "herald", Medium: "email", Campaign: "spring sale"}.Apply(href)
			if id, ok := stored[dest]; ok {
				return id, true
			}
			id := int64(len(stored) + 1)
			stored[dest] = id
			return id, true
		},
	}
}

func TestTokenRoundTrip(t *testing.T) {
	s := NewSigner([]byte("k"))
	for _, r := range []Ref{
		{Campaign: 1, Send: 2, Sent: time.Unix(1_700_000_000, 0).UTC()},
		{Campaign: 1 << 40, Send: 1 << 50, Link: 99, Sent: time.Unix(1_900_000_000, 0).UTC()},
		{Message: 5, Link: 1, Sent: time.Unix(0, 0).UTC()},
		{Message: 6, Link: 2, Sent: time.Unix(5, 0).UTC(), Private: true, OpensOff: true},
	} {
		tok := s.Sign(r)
		got, err := s.Parse(tok)
		if err != nil || got != r {
			t.Errorf("Parse(Sign(%+v)) = %+v, %v", r, got, err)
		}
		if len(tok) > 64 {
			t.Errorf("token %q is %d characters, want at most 64", tok, len(tok))
		}
	}
}

func TestTokenTampered(t *testing.T) {
	s := NewSigner([]byte("k"))
	tok := s.Sign(Ref{Campaign: 1, Send: 2, Link: 4, Sent: time.Unix(1_700_000_000, 0)})
	other := NewSigner([]byte("other key")).Sign(Ref{Campaign: 1, Send: 2, Link: 4, Sent: time.Unix(1_700_000_000, 0)})
	flipped := []byte(tok)
	flipped[2] ^= 1
	for _, bad := range []string{"", "abc", tok[:len(tok)-1], tok + "A", string(flipped), other, strings.Repeat("A", 200), "!!!!!!!!!!",
		s.Sign(Ref{Send: 2}), s.Sign(Ref{Campaign: 1, Send: 2, Message: 3})} {
		if r, err := s.Parse(bad); err == nil {
			t.Errorf("Parse(%q) = %+v, want an error", bad, r)
		}
	}
}

func TestRewriteHTML(t *testing.T) {
	stored := map[string]int64{}
	m := testMessage(stored)
	in := `<html><body><p><a href="https://shop.example/a?x=1&amp;utm_source=mine#top">A</a>
<A class=btn HREF='http://shop.example/b'>B</A> <a href="mailto:hi@example.com">mail</a> <a href="tel:+331">tel</a>
<a href="#section">in page</a> <a data-notrack href="https://private.example/">private</a>
<a href="https://mail.example.com/u/abc">unsubscribe</a> <abbr title="x">abbr</abbr> <a href=https://shop.example/c>C</a></p></BODY></html>`
	out := m.HTML(in)
	for _, want := range []string{`<a href="https://mail.example.com/c/`, `<A class=btn href="https://mail.example.com/c/`, `href="mailto:hi@example.com"`,
		`href="tel:+331"`, `href="#section"`, `<a href="https://private.example/">private</a>`, `href="https://mail.example.com/u/abc"`,
		`<abbr title="x">`, `<img src="https://mail.example.com/o/`, `</BODY></html>`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, notrack) {
		t.Errorf("output keeps %s:\n%s", notrack, out)
	}
	want := map[string]int64{
		"https://shop.example/a?x=1&utm_source=mine&utm_medium=email&utm_campaign=spring+sale#top": 1,
		"http://shop.example/b?utm_source=herald&utm_medium=email&utm_campaign=spring+sale":        2,
		"https://shop.example/c?utm_source=herald&utm_medium=email&utm_campaign=spring+sale":       3,
	}
	if fmt.Sprint(stored) != fmt.Sprint(want) {
		t.Errorf("stored links %v, want %v", stored, want)
	}
	if strings.Count(out, "/c/") != 3 || strings.Count(out, "/o/") != 1 {
		t.Errorf("got %d redirects and %d pixels, want 3 and 1:\n%s", strings.Count(out, "/c/"), strings.Count(out, "/o/"), out)
	}
	// Each redirect names the send and its link.
	i := strings.Index(out, "/c/") + 3
	tok := out[i : i+strings.IndexByte(out[i:], '"')]
	r, err := m.Signer.Parse(tok)
	if err != nil || r.Send != 42 || r.Campaign != 7 || r.Link != 1 {
		t.Errorf("first redirect names %+v, %v; want send 42 of campaign 7, link 1", r, err)
	}
}

func TestTrackingOff(t *testing.T) {
	m := testMessage(map[string]int64{})
	m.Opens, m.Clicks = false, false
	in := `<p><a href="https://a.example/">a</a> <a data-notrack href="https://b.example/">b</a></p>`
	if got, want := m.HTML(in), `<p><a href="https://a.example/">a</a> <a href="https://b.example/">b</a></p>`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	var none *Message
	if got := none.HTML(in); got != in {
		t.Errorf("a nil tracker changed the HTML: %s", got)
	}
	if got := m.Text("see https://a.example/"); got != "see https://a.example/" {
		t.Errorf("got %q with click tracking off", got)
	}
}

func TestRewriteText(t *testing.T) {
	m := testMessage(map[string]int64{})
	out := m.Text("Shop (https://shop.example/x?y=1). Or <http://b.example/>, not xhttp://c.example/ nor https://mail.example.com/p/tok\n")
	if strings.Count(out, "https://mail.example.com/c/") != 2 || !strings.Contains(out, "). Or <") || !strings.Contains(out, "xhttp://c.example/") ||
		!strings.Contains(out, "https://mail.example.com/p/tok") {
		t.Errorf("got %q", out)
	}
}

func TestUTMKeepsQuery(t *testing.T) {
	u := UTM{Source: "s", Campaign: "c"}
	for in, want := range map[string]string{
		"https://a.example/":                 "https://a.example/?utm_source=s&utm_campaign=c",
		"https://a.example/?":                "https://a.example/?utm_source=s&utm_campaign=c",
		"https://a.example/?b=%2F&c":         "https://a.example/?b=%2F&c&utm_source=s&utm_campaign=c",
		"https://a.example/?utm_campaign=x#": "https://a.example/?utm_campaign=x&utm_source=s#",
	} {
		if got := u.Apply(in); got != want {
			t.Errorf("Apply(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestClassify(t *testing.T) {
	person := "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
	for _, c := range []struct {
		h           Hit
		open, click bool
	}{
		{Hit{Method: "GET", UserAgent: person, After: time.Hour}, false, false},
		{Hit{Method: "GET", UserAgent: "Mozilla/5.0", After: time.Hour}, true, false},
		{Hit{Method: "GET", UserAgent: "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)", After: time.Hour}, true, false},
		{Hit{Method: "GET", UserAgent: "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html", After: time.Hour}, true, false},
		{Hit{Method: "GET", UserAgent: person, After: 3 * time.Second}, true, true},
		{Hit{Method: "HEAD", UserAgent: person, After: time.Hour}, true, true},
		{Hit{Method: "GET", UserAgent: "Barracuda Sentinel (EE)", After: time.Hour}, false, true},
		{Hit{Method: "GET", UserAgent: "", After: time.Hour}, true, true},
	} {
		if got, why := MachineOpen(c.h); got != c.open {
			t.Errorf("MachineOpen(%+v) = %v (%s), want %v", c.h, got, why, c.open)
		}
		if got, why := ScannerClick(c.h); got != c.click {
			t.Errorf("ScannerClick(%+v) = %v (%s), want %v", c.h, got, why, c.click)
		}
	}
}

func FuzzRewrite(f *testing.F) {
	for _, s := range []string{`<a href="https://a.example/">x</a>`, `<a href='x`, `<a data-notrack href=https://b/>`, `<a  =  >`, `<a href=">`, "http://", `<a `, `<a href="https://a.example/" href="https://b.example/">`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m := testMessage(map[string]int64{})
		out := m.HTML(s)
		if s != "" && !strings.Contains(out, "/o/") {
			t.Fatalf("no pixel in %q", out)
		}
		if strings.Count(out, "<") < strings.Count(s, "<") {
			t.Fatalf("tags lost: %q -> %q", s, out)
		}
		m.Text(s)
	})
}

func FuzzParseToken(f *testing.F) {
	s := NewSigner([]byte("k"))
	f.Add(s.Sign(Ref{Campaign: 1, Send: 2, Link: 4, Sent: time.Unix(1, 0)}))
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, tok string) {
		r, err := s.Parse(tok)
		if err != nil {
			return
		}
		if again, err := s.Parse(s.Sign(r)); err != nil || again != r {
			t.Fatalf("a valid token's ref %+v does not survive signing again: %+v, %v", r, again, err)
		}
	})
}

func BenchmarkRewriteHTML(b *testing.B) {
	body := strings.Repeat(`<p>Some newsletter text with <b>bold</b> words and a <a href="https://shop.example/item?id=1">link</a>.</p>`, 40)
	in := "<html><body>" + body + "</body></html>"
	m := testMessage(map[string]int64{})
	m.Link = func(string) (int64, bool) { return 7, true }
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		m.HTML(in)
	}
}

// TestTokenOneSpelling checks that a token's last character has no other
// spellings that decode to the same bytes.
func TestTokenOneSpelling(t *testing.T) {
	s := NewSigner([]byte("k"))
	tok := s.Sign(Ref{Campaign: 1, Send: 2, Link: 4, Sent: time.Unix(1_700_000_000, 0)})
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for _, c := range alphabet {
		other := tok[:len(tok)-1] + string(c)
		if other == tok {
			continue
		}
		if _, err := s.Parse(other); err == nil {
			t.Errorf("%q, a respelling of %q, is taken", other, tok)
		}
	}
}

func TestPixelPlacement(t *testing.T) {
	m := testMessage(map[string]int64{})
	for _, tc := range []struct{ in, before, after string }{
		{`<body><a href="https://a.example/">a</a></body></BODY></html>`, `</a></body>`, `</BODY></html>`},
		// A "</body" in a comment or in an attribute is text, not the tag.
		{`<body><p title="</body>">x</p></body><!-- </body> in a comment -->`, `x</p>`, `</body><!-- </body> in a comment -->`},
		{`<body><a href="mailto:a@example.com?body=</body>">a</a></body>`, `>a</a>`, `</body>`},
		{`<body><p>x</p></body><!-- <p>old footer</p></body> --></html>`, `<p>x</p>`, `</body><!-- <p>old footer</p></body> --></html>`},
		{`<body><!-- <div>d</div></body> -->5 < 6</body>`, `5 < 6`, `</body>`},
		{`<p>no body</p>`, `<p>no body</p>`, ``},
		// The last "</body" inside a link that is rewritten: the pixel goes
		// at the end, never inside the tag.
		{`<a href="https://a.example/</body>">a</a>`, `>a</a>`, ``},
	} {
		out := m.HTML(tc.in)
		i := strings.Index(out, `<img src="https://mail.example.com/o/`)
		j := i + strings.Index(out[max(i, 0):], ">") + 1
		if i < 0 || strings.Count(out, "/o/") != 1 || !strings.HasSuffix(out[:max(i, 0)], tc.before) || out[j:] != tc.after {
			t.Errorf("%q: got %q, want the pixel after %q and before %q", tc.in, out, tc.before, tc.after)
		}
	}
}
