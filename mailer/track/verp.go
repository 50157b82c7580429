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

// verpDomain keeps VERP MACs apart from tracking-token MACs made with the
// same key.
const verpDomain = 'v'

// SignVERP returns the token of a campaign send's return path,
// bounces+<token>@domain: the campaign and send ids and a MAC, in lower-case
// base32, about 24 characters.
func (s *Signer) SignVERP(campaign, send int64) string {
	var buf [2*binary.MaxVarintLen64 + verpMacSize]byte
	b := binary.AppendUvarint(buf[:0], uint64(campaign))
	b = binary.AppendUvarint(b, uint64(send))
	b = append(b, s.verpMAC(b)...)
	return strings.ToLower(verpEncoding.EncodeToString(b))
}

// ParseVERP checks a VERP token, in any case, and returns the campaign and
// send it names.
func (s *Signer) ParseVERP(token string) (campaign, send int64, err error) {
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
	if !hmac.Equal(s.verpMAC(body), mac) {
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

func (s *Signer) verpMAC(b []byte) []byte {
	return s.mac(append([]byte{verpDomain}, b...))[:verpMacSize]
}
