package outbound

import "testing"

// FuzzFeedItem feeds arbitrary bytes to what reads a repeating campaign's
// feed: RSS, Atom and JSON are read, anything else is an error, and
// nothing panics.
func FuzzFeedItem(f *testing.F) {
	for _, seed := range []string{
		`<rss><channel><item><guid>1</guid><title>A</title></item></channel></rss>`,
		`<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>x</id><updated>2026-01-01</updated></entry></feed>`,
		`[{"id": 1}, {"id": 2}]`,
		`{"posts": [{"slug": "a"}], "meta": {}}`,
		`<<<`, `{"a":`, `[]`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		first, err := firstItem(data)
		if err == nil && first == nil {
			t.Fatal("no error and no item")
		}
	})
}
