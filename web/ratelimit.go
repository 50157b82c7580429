package web

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v5"

	"herald/store"
)

// Rate classes: every API route counts against one of a key's three
// buckets, so that a burst of reads never holds up a shop's receipts.
const (
	classRead  = "read"
	classWrite = "write"
	classSend  = "send"
)

// rateClass is the class of a route: sends for the send scope, reads for
// GET, writes for the rest.
func rateClass(method, scope string) string {
	switch {
	case scope == store.ScopeSend:
		return classSend
	case method == http.MethodGet:
		return classRead
	}
	return classWrite
}

// rateLimiter holds a token bucket per key and class. A bucket holds one
// second of its rate and fills at that rate.
type rateLimiter struct {
	mu      sync.Mutex
	buckets map[bucketKey]*bucket
	now     func() time.Time
}

type bucketKey struct {
	key   int64
	class string
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(now func() time.Time) *rateLimiter {
	return &rateLimiter{buckets: map[bucketKey]*bucket{}, now: now}
}

// take takes a request from k's bucket of rate a second. It reports
// whether one was there, how many are left, how long until the bucket is
// full again, and, when none was there, how long until one is.
func (l *rateLimiter) take(k bucketKey, rate int) (ok bool, left int, full, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now, capacity := l.now(), float64(rate)
	b := l.buckets[k]
	if b == nil {
		b = &bucket{tokens: capacity, last: now}
		l.buckets[k] = b
	}
	b.tokens = min(capacity, b.tokens+now.Sub(b.last).Seconds()*capacity)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		ok = true
	} else {
		wait = time.Duration((1 - b.tokens) / capacity * float64(time.Second))
	}
	full = time.Duration((capacity - b.tokens) / capacity * float64(time.Second))
	return ok, int(b.tokens), full, wait
}

// limitRate counts each request of a route of class against its key's
// bucket, and says so in X-RateLimit-Limit (requests a second),
// -Remaining and -Reset (seconds until the bucket is full); a request over
// the limit gets 429 with Retry-After.
func (s *Server) limitRate(class string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			key := c.Get(ctxAPIKey).(store.APIKey)
			limits := key.Limits.Or(s.general().APILimits).Or(store.DefaultRateLimits)
			rate := map[string]int{classRead: limits.Read, classWrite: limits.Write, classSend: limits.Send}[class]
			ok, left, full, wait := s.limits.take(bucketKey{key.ID, class}, rate)
			h := c.Response().Header()
			h.Set("X-RateLimit-Limit", strconv.Itoa(rate))
			h.Set("X-RateLimit-Remaining", strconv.Itoa(left))
			h.Set("X-RateLimit-Reset", strconv.Itoa(ceilSeconds(full)))
			if !ok {
				h.Set("Retry-After", strconv.Itoa(max(1, ceilSeconds(wait))))
				return apiErr(http.StatusTooManyRequests, "rate_limited",
					"Too many "+class+" requests with this key: it may make "+strconv.Itoa(rate)+" a second. Wait for Retry-After seconds, or raise the limit in Settings → API keys.")
			}
			return next(c)
		}
	}
}

func ceilSeconds(d time.Duration) int { return int(math.Ceil(d.Seconds())) }
