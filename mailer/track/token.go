// Package track makes a message's opens and clicks visible: it rewrites
// each link into a click redirect and adds an open pixel, both carrying a
// signed token that names the send, and it tells people's opens and clicks
// from those of image proxies and security scanners. It knows nothing of
// SQL or HTTP routing.
package track

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash"
	"sync"
	"time"
)

// Ref is what a tracking token names: one campaign send (and so its
// recipient) or one transactional message, and for a click the stored link.
type Ref struct {
	// Campaign and Send name a campaign's message; Message a
	// transactional one (Campaign and Send then 0).
	Campaign int64
	Send     int64
	Message  int64
	// Link is the stored link of a click; 0 for the open pixel.
	Link int64
	// Sent is when the message was built, to the second: opens and clicks
	// within seconds of it come from machines.
	Sent time.Time
	// Private keeps counts only, with no record of who opened or clicked.
	Private bool
	// OpensOff says the message does not track opens, so a click is not
	// taken for an open.
	OpensOff bool
}

// ErrBadToken is returned for a token that is forged, damaged or unknown.
var ErrBadToken = errors.New("track: not a valid tracking token")

// macSize is the truncated HMAC-SHA256 a token carries: 96 bits, beyond
// any guessing at the rate a web server answers.
const macSize = 12

// maxToken bounds a token's length before it is decoded.
const maxToken = 128

// b64 is strict: a token has one spelling, with no variants in the unused
// bits of its last character.
var b64 = base64.RawURLEncoding.Strict()

// Signer signs and checks tracking tokens with a key of its own. It is
// safe for concurrent use.
type Signer struct {
	key []byte
	// macs keeps keyed HMAC states for reuse: a message signs a token for
	// each of its links.
	macs sync.Pool
}

// NewSigner returns a signer with the given key, which must be kept
// secret and stable: changing it breaks the links in every sent message.
func NewSigner(key []byte) *Signer {
	s := &Signer{key: append([]byte(nil), key...)}
	s.macs.New = func() any { return hmac.New(sha256.New, s.key) }
	return s
}

// Sign returns the token for ref: a few varints and the MAC, in URL-safe
// base64, about 30 characters.
func (s *Signer) Sign(r Ref) string {
	return string(s.AppendToken(nil, r))
}

// AppendToken appends the token for ref to dst.
func (s *Signer) AppendToken(dst []byte, r Ref) []byte {
	var buf [6*binary.MaxVarintLen64 + macSize]byte
	b := buf[:0]
	for _, v := range r.fields() {
		b = binary.AppendUvarint(b, uint64(v))
	}
	b = append(b, s.mac(b)...)
	return b64.AppendEncode(dst, b)
}

// Parse checks a token and returns what it names.
func (s *Signer) Parse(token string) (Ref, error) {
	if len(token) > maxToken || len(token) < 8 {
		return Ref{}, ErrBadToken
	}
	var buf [maxToken]byte
	n, err := b64.Decode(buf[:], []byte(token))
	if err != nil || n <= macSize {
		return Ref{}, ErrBadToken
	}
	body, mac := buf[:n-macSize], buf[n-macSize:n]
	if !hmac.Equal(s.mac(body), mac) {
		return Ref{}, ErrBadToken
	}
	var v [6]int64
	for i := range v {
		x, k := binary.Uvarint(body)
		if k <= 0 || x > 1<<62 {
			return Ref{}, ErrBadToken
		}
		v[i], body = int64(x), body[k:]
	}
	if len(body) != 0 {
		return Ref{}, ErrBadToken
	}
	r := Ref{Campaign: v[0], Send: v[1], Message: v[2], Link: v[3], Sent: time.Unix(v[4], 0).UTC(), Private: v[5]&1 != 0, OpensOff: v[5]&2 != 0}
	if (r.Send == 0) == (r.Message == 0) || (r.Send != 0) != (r.Campaign != 0) || v[5] > 3 {
		return Ref{}, ErrBadToken
	}
	return r, nil
}

func (r Ref) fields() [6]int64 {
	var flags int64
	if r.Private {
		flags |= 1
	}
	if r.OpensOff {
		flags |= 2
	}
	return [6]int64{r.Campaign, r.Send, r.Message, r.Link, r.Sent.Unix(), flags}
}

func (s *Signer) mac(b []byte) []byte {
	m := s.macs.Get().(hash.Hash)
	m.Reset()
	m.Write(b)
	var sum [sha256.Size]byte
	out := m.Sum(sum[:0])[:macSize]
	s.macs.Put(m)
	return out
}
