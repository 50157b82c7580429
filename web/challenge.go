package web

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
	"sync"
	"time"

	"herald/store"
)

// challengeTTL is how long a sign-up puzzle may take to come back.
const challengeTTL = 10 * time.Minute

// challenges issues and checks proof-of-work puzzles for public forms: the
// browser must find a nonce whose SHA-256 with the challenge starts with
// bits zero bits. Each solved challenge works once.
type challenges struct {
	bits int
	mu   sync.Mutex
	used map[string]time.Time
}

func newChallenges(bits int) *challenges {
	return &challenges{bits: bits, used: map[string]time.Time{}}
}

// issue returns a signed challenge for a list's form.
func (ch *challenges) issue(box *store.SecretBox, listID int64) string {
	var b [8]byte
	rand.Read(b[:])
	return box.SignToken(store.Token{Purpose: store.PurposeChallenge, ContactID: int64(binary.BigEndian.Uint64(b[:]) >> 2), ListID: listID,
		Expires: time.Now().Add(challengeTTL)})
}

// solved reports whether nonce solves a live, unused challenge for the list,
// and spends the challenge.
func (ch *challenges) solved(box *store.SecretBox, listID int64, challenge, nonce string) bool {
	now := time.Now()
	t, err := box.VerifyToken(challenge, store.PurposeChallenge, now)
	if err != nil || t.ListID != listID || nonce == "" || len(nonce) > 20 {
		return false
	}
	if leadingZeroBits(sha256.Sum256([]byte(challenge+":"+nonce))) < ch.bits {
		return false
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	for k, exp := range ch.used {
		if now.After(exp) {
			delete(ch.used, k)
		}
	}
	if _, spent := ch.used[challenge]; spent {
		return false
	}
	ch.used[challenge] = t.Expires
	return true
}

func leadingZeroBits(sum [32]byte) int {
	n := 0
	for _, b := range sum {
		if b != 0 {
			return n + bits.LeadingZeros8(b)
		}
		n += 8
	}
	return n
}
