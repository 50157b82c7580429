package store

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"hash"
	"strconv"
	"strings"
	"time"
)

// Token purposes; a token signed for one purpose is refused for any other.
const (
	PurposeConfirm     = "confirm"
	PurposePreferences = "prefs"
	PurposeUnsubscribe = "unsub"
	PurposeChallenge   = "pow"
	PurposeView        = "view"
	// PurposeCampaignView signs the web view of a campaign a contact was
	// sent; its ListID field holds the campaign.
	PurposeCampaignView = "cview"
)

// ErrBadToken is returned for a link token that is forged, damaged or expired.
var ErrBadToken = errors.New("this link is not valid or has expired")

// Token is what a signed link carries.
type Token struct {
	Purpose   string
	ContactID int64
	// ListID is the list the link concerns, or for a web view the template
	// or campaign shown; 0 for none.
	ListID int64
	// Expires is zero for links that do not expire, like unsubscribe links.
	Expires time.Time
	// Campaign names the campaign whose message carried the link, so an
	// unsubscribe counts against it; 0 for none.
	Campaign int64
}

// tokenB64 is strict: a token has one spelling.
var tokenB64 = base64.RawURLEncoding.Strict()

// TrackingKey is the key that signs tracking tokens, derived from the
// secret key like the link key, and apart from it.
func (b *SecretBox) TrackingKey() []byte { return b.deriveKey("herald tracking tokens v1") }

// deriveKey derives a key for one use, named by label, from the secret key.
func (b *SecretBox) deriveKey(label string) []byte {
	m := hmac.New(sha256.New, b.key)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// SignToken returns an unguessable, tamper-proof link token.
func (b *SecretBox) SignToken(t Token) string {
	var exp int64
	if !t.Expires.IsZero() {
		exp = t.Expires.Unix()
	}
	var buf [96]byte
	payload := append(buf[:0], t.Purpose...)
	for _, n := range []int64{t.ContactID, t.ListID, exp} {
		payload = strconv.AppendInt(append(payload, '.'), n, 36)
	}
	if t.Campaign != 0 {
		payload = strconv.AppendInt(append(payload, '.'), t.Campaign, 36)
	}
	var sum [sha256.Size]byte
	mac := b.linkMAC(payload, sum[:0])
	out := make([]byte, 0, tokenB64.EncodedLen(len(payload))+1+tokenB64.EncodedLen(18))
	out = tokenB64.AppendEncode(out, payload)
	out = tokenB64.AppendEncode(append(out, '.'), mac[:18])
	return string(out)
}

// linkMAC appends the link key's HMAC of payload to sum. A campaign signs
// a few tokens a message, so the HMACs, keyed once, are pooled.
func (b *SecretBox) linkMAC(payload, sum []byte) []byte {
	m := b.linkMACs.Get().(hash.Hash)
	m.Reset()
	m.Write(payload)
	sum = m.Sum(sum)
	b.linkMACs.Put(m)
	return sum
}

// VerifyToken checks a token's signature, purpose and expiry.
func (b *SecretBox) VerifyToken(s, purpose string, now time.Time) (Token, error) {
	p64, mac64, ok := strings.Cut(s, ".")
	if !ok {
		return Token{}, ErrBadToken
	}
	payload, err1 := tokenB64.DecodeString(p64)
	mac, err2 := tokenB64.DecodeString(mac64)
	if err1 != nil || err2 != nil {
		return Token{}, ErrBadToken
	}
	var sum [sha256.Size]byte
	if !hmac.Equal(b.linkMAC(payload, sum[:0])[:18], mac) {
		return Token{}, ErrBadToken
	}
	parts := strings.Split(string(payload), ".")
	if len(parts) != 4 && len(parts) != 5 || parts[0] != purpose {
		return Token{}, ErrBadToken
	}
	t := Token{Purpose: parts[0]}
	var exp int64
	var err error
	if t.ContactID, err = strconv.ParseInt(parts[1], 36, 64); err != nil {
		return Token{}, ErrBadToken
	}
	if t.ListID, err = strconv.ParseInt(parts[2], 36, 64); err != nil {
		return Token{}, ErrBadToken
	}
	if exp, err = strconv.ParseInt(parts[3], 36, 64); err != nil {
		return Token{}, ErrBadToken
	}
	if len(parts) == 5 {
		if t.Campaign, err = strconv.ParseInt(parts[4], 36, 64); err != nil || t.Campaign <= 0 {
			return Token{}, ErrBadToken
		}
	}
	if exp != 0 {
		t.Expires = time.Unix(exp, 0).UTC()
		if now.After(t.Expires) {
			return Token{}, ErrBadToken
		}
	}
	return t, nil
}

// Box returns the store's secret box, for signing links.
func (s *Store) Box() *SecretBox { return s.box }
