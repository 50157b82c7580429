package mailer

import (
	"bytes"
	"mime/quotedprintable"
	"strings"
	"testing"
)

// stdQP is what mime/quotedprintable's Writer writes for text.
func stdQP(text string) string {
	var b bytes.Buffer
	w := quotedprintable.NewWriter(&b)
	w.Write([]byte(text))
	w.Close()
	return b.String()
}

var qpSeeds = []string{
	"", "plain", "a=b", "trailing space \nnext", "tab\t\r\nx\t", "\r\r\n\n\r", "\r=\n", "héllo wörld\r\n",
	strings.Repeat("x", 200), strings.Repeat("x ", 100) + "\n", strings.Repeat("=", 60), strings.Repeat("a", 74) + " \n",
	strings.Repeat("a", 73) + "=" + strings.Repeat("b", 10), `<a href="https://news.example/c/ByoAAYDiz6oGADNT4buwR5SEVprVoQ">Read more</a>`,
}

func TestAppendQPMatchesTheStandardWriter(t *testing.T) {
	for _, s := range qpSeeds {
		if got, want := string(appendQP(nil, s)), stdQP(s); got != want {
			t.Errorf("%q:\ngot  %q\nwant %q", s, got, want)
		}
	}
}

func FuzzAppendQP(f *testing.F) {
	for _, s := range qpSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(appendQP(nil, s)), stdQP(s); got != want {
			t.Fatalf("%q:\ngot  %q\nwant %q", s, got, want)
		}
	})
}

func BenchmarkQP(b *testing.B) {
	text := strings.Repeat(`<p>We baked something new this week in Leeds. Flour, water, salt and time. <a href="https://news.example/c/ByoAAYDiz6oGADNT4buwR5SEVprVoQ" style="color:#0b5">Read more</a></p>`+"\n", 40)
	b.Run("appendQP", func(b *testing.B) {
		buf := make([]byte, 0, 2*len(text))
		for b.Loop() {
			buf = appendQP(buf[:0], text)
		}
	})
	b.Run("quotedprintable", func(b *testing.B) {
		for b.Loop() {
			stdQP(text)
		}
	})
}
