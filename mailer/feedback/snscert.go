package feedback

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"
)

// CertFetchError is a failure to fetch SNS's signing certificate: the
// network's fault, not the message's, so the message should be retried.
type CertFetchError struct{ Err error }

func (e *CertFetchError) Error() string {
	return "feedback: sns: fetching signing certificate: " + e.Err.Error()
}

func (e *CertFetchError) Unwrap() error { return e.Err }

// fetchKey downloads the PEM certificate at u and returns its RSA key. The
// HTTPS fetch from an SNS host is what vouches for the certificate, as in
// AWS's own validators; an expired one is still refused.
func (v *SNSVerifier) fetchKey(ctx context.Context, u *url.URL) (*rsa.PublicKey, error) {
	b, err := v.get(ctx, u)
	if err != nil {
		return nil, &CertFetchError{Err: err}
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("feedback: sns: signing certificate is not PEM")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("feedback: sns: signing certificate: %w", err)
	}
	if now := time.Now(); now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return nil, errors.New("feedback: sns: signing certificate is not valid now")
	}
	key, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("feedback: sns: signing certificate has no RSA key")
	}
	return key, nil
}

// certCache keeps the last few signing keys by URL. SNS signs with one
// certificate per region for months, so a handful covers every topic; a
// key being fetched is waited for, not fetched twice.
type certCache struct {
	mu    sync.Mutex
	max   int
	keys  map[string]*certEntry
	order []string
}

type certEntry struct {
	done chan struct{}
	key  *rsa.PublicKey
	err  error
}

func newCertCache(size int) *certCache {
	return &certCache{max: size, keys: make(map[string]*certEntry)}
}

// get returns the key for url, fetching it when it is not cached. Failures
// are not kept, so the next message tries again.
func (c *certCache) get(ctx context.Context, url string,
	fetch func(context.Context) (*rsa.PublicKey, error)) (*rsa.PublicKey, error) {
	c.mu.Lock()
	e, ok := c.keys[url]
	if !ok {
		e = &certEntry{done: make(chan struct{})}
		c.add(url, e)
		c.mu.Unlock()
		e.key, e.err = fetch(ctx)
		close(e.done)
		if e.err != nil {
			c.forget(url, e)
		}
		return e.key, e.err
	}
	c.mu.Unlock()
	select {
	case <-e.done:
		return e.key, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// add stores e, dropping the oldest entry when full. Called with mu held.
func (c *certCache) add(url string, e *certEntry) {
	if len(c.order) >= c.max {
		delete(c.keys, c.order[0])
		c.order = c.order[1:]
	}
	c.keys[url] = e
	c.order = append(c.order, url)
}

// forget drops a failed entry unless it has already been replaced.
func (c *certCache) forget(url string, e *certEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys[url] != e {
		return
	}
	delete(c.keys, url)
	for i, u := range c.order {
		if u == url {
			c.order = append(c.order[:i], c.order[i+1:]...)
			break
		}
	}
}
