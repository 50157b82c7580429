package track

import (
	"crypto/hmac"
	"encoding/base32"
	"encoding/binary"
	"strings"
)

// verpEncoding is base32 without padding, written in lower case: a return
// path's local part survives mail servers that change its case.
var verpEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// verpMacSize is the truncated MAC a VERP token carries: 80 bits.
const verpMacSize = 10

// maxVERP bounds a VERP token's length before it is decoded.
const maxVERP = 64

// verpDomain and messageDomain keep VERP and Message-ID MACs apart from
// each other and from tracking-token MACs made with the same key.
const (
	verpDomain    = 'v'
	messageDomain = 'm'
)

// SignVERP returns the token of a campaign send's return path,
// bounces+<token>@domain: the campaign and send ids and a MAC, in lower-case
// base32, about 24 characters.
func (s *Signer) SignVERP(campaign, send int64) string {
	return s.signPair(verpDomain, campaign, send)
}

// ParseVERP checks a VERP token, in any case, and returns the campaign and
// send it names.
func (s *Signer) ParseVERP(token string) (campaign, send int64, err error) {
	return s.parsePair(verpDomain, token)
}

// MessageTag is the signed part of a Message-ID Herald gives: a campaign's
// message is c<campaign>.s<send>.<tag>@domain with the campaign and send as
// a and b, a transactional one m<id>.<created>.<tag>@domain. A bounce or
// complaint that quotes the Message-ID is taken only when its tag checks
// out, so nobody can make one up for a message they never saw.
func (s *Signer) MessageTag(a, b int64) string {
	return s.signPair(messageDomain, a, b)
}

// CheckMessageTag says whether tag is the MessageTag of a and b.
func (s *Signer) CheckMessageTag(tag string, a, b int64) bool {
	x, y, err := s.parsePair(messageDomain, tag)
	return err == nil && x == a && y == b
}

func (s *Signer) signPair(domain byte, a, b int64) string {
	var buf [2*binary.MaxVarintLen64 + verpMacSize]byte
	p := binary.AppendUvarint(buf[:0], uint64(a))
	p = binary.AppendUvarint(p, uint64(b))
	p = append(p, s.pairMAC(domain, p)...)
	return strings.ToLower(verpEncoding.EncodeToString(p))
}

func (s *Signer) parsePair(domain byte, token string) (campaign, send int64, err error) {
	if len(token) > maxVERP || len(token) < 8 {
		return 0, 0, ErrBadToken
	}
	var buf [maxVERP]byte
	n, err := verpEncoding.Decode(buf[:], []byte(strings.ToUpper(token)))
	// Only the one spelling SignVERP gives (in any case) is taken: base32
	// would let the last character's unused bits vary.
	if err != nil || n <= verpMacSize || !strings.EqualFold(verpEncoding.EncodeToString(buf[:n]), token) {
		return 0, 0, ErrBadToken
	}
	body, mac := buf[:n-verpMacSize], buf[n-verpMacSize:n]
	if !hmac.Equal(s.pairMAC(domain, body), mac) {
		return 0, 0, ErrBadToken
	}
	var v [2]int64
	for i := range v {
		x, k := binary.Uvarint(body)
		if k <= 0 || x == 0 || x > 1<<62 {
			return 0, 0, ErrBadToken
		}
		v[i], body = int64(x), body[k:]
	}
	if len(body) != 0 {
		return 0, 0, ErrBadToken
	}
	return v[0], v[1], nil
}

func (s *Signer) pairMAC(domain byte, b []byte) []byte {
	return s.mac(append([]byte{domain}, b...))[:verpMacSize]
}
