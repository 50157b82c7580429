package sources

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Auth is how a source proves who it is to the remote API.
type Auth struct {
	// Kind is "" for none, "bearer", "basic", "header" (an API key in a
	// header) or "query" (an API key in a query parameter).
	Kind               string
	Token              string
	Username, Password string
	// Name and Value are the API key's header or parameter and its value.
	Name, Value string
}

// Redact masks a spec's credentials wherever a message repeats them: as
// written, and as they travel or an API may echo them (query- and
// path-escaped, in base64, JSON-escaped, with / escaped, and for basic
// auth as the Authorization header holds it).
func (s Spec) Redact(msg string) string {
	plain := []string{s.Auth.Token, s.Auth.Password, s.Auth.Value}
	for _, h := range s.Headers {
		plain = append(plain, h.Value)
	}
	var forms []string
	for _, v := range plain {
		if len(v) < 4 {
			continue
		}
		quoted, _ := json.Marshal(v)
		forms = append(forms, v, url.QueryEscape(v), url.PathEscape(v), base64.StdEncoding.EncodeToString([]byte(v)),
			base64.RawURLEncoding.EncodeToString([]byte(v)), strings.Trim(string(quoted), `"`), strings.ReplaceAll(v, "/", `\/`))
	}
	if s.Auth.Kind == "basic" && s.Auth.Password != "" {
		pair := []byte(s.Auth.Username + ":" + s.Auth.Password)
		forms = append(forms, base64.StdEncoding.EncodeToString(pair), base64.RawStdEncoding.EncodeToString(pair))
	}
	// The longest first, so that no shorter form leaves part of one.
	slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
	for _, f := range forms {
		msg = strings.ReplaceAll(msg, f, "••••")
	}
	return msg
}

// Header is an extra header the remote API wants.
type Header struct{ Name, Value string }

// Kinds of paging.
const (
	PagingNone   = "none"
	PagingPage   = "page"   // page and per_page parameters
	PagingOffset = "offset" // offset and limit parameters
	PagingCursor = "cursor" // a cursor field in the body, sent back as a parameter
	PagingLink   = "link"   // a Link: <…>; rel="next" header
)

// Paging is how the remote API hands out its records a page at a time.
type Paging struct {
	Kind string
	// PageParam and SizeParam name the page (or offset) parameter and the
	// page size parameter: page and per_page, or offset and limit.
	PageParam, SizeParam string
	// Size is how many records a page is asked for; 100 when 0.
	Size int
	// CursorField is the path of the next page's cursor in the body, like
	// "meta.next_cursor"; CursorParam the parameter that sends it back.
	CursorField, CursorParam string
	// MaxPages caps the pages of one run; 1,000 when 0.
	MaxPages int
}

// Spec is what to fetch from a source.
type Spec struct {
	// URL is the https address of the first page.
	URL     string
	Auth    Auth
	Headers []Header
	// RecordsPath is where an answer holds its records, like
	// "payload.customers"; "" finds them (see Decode).
	RecordsPath string
	Paging      Paging
	// SinceParam, when set, is sent with Since, the start of the last
	// successful run, so the API answers only what changed since.
	SinceParam string
	Since      time.Time
	// MaxRecords caps the records of one run; 1,000,000 when 0.
	MaxRecords int
}

// Cursor is where a walk stands: enough to ask for the next page, so that
// a run that stops can resume there.
type Cursor struct {
	// Page is the page number or the offset to ask for.
	Page int `json:"page,omitempty"`
	// Token is the cursor the last answer gave; URL its next link.
	Token string `json:"token,omitempty"`
	URL   string `json:"url,omitempty"`
	// Pages and Records are how many were fetched before this page.
	Pages   int `json:"pages"`
	Records int `json:"records"`
	// Sum is a digest of the page before, to notice an API that answers
	// every page alike because it does not page as told.
	Sum uint64 `json:"sum,omitempty"`
	// Done says the last page is written: a run that stops there has
	// nothing left to fetch.
	Done bool `json:"done,omitempty"`
}

// Page is one answer's records, with where the next page is.
type Page struct {
	Records []Record
	Next    Cursor
	// Last says there is no next page; Capped that there may be, but the
	// run's cap on pages or records was reached.
	Last, Capped bool
	// Took is how long the answer took, and Status its HTTP status.
	Took   time.Duration
	Status int
	// Repeated says the API answered this page as it did the one before,
	// so it was taken as the end: it does not page as told.
	Repeated bool
}

// Fetcher asks remote APIs for pages.
type Fetcher struct {
	// Client makes the requests: one from the guard, which refuses private
	// addresses, verifies TLS and follows no redirect.
	Client *http.Client
	// MaxBody caps an answer; 50 MB when 0.
	MaxBody int64
	// MaxWait caps how long a 429's Retry-After is waited for; 5 minutes
	// when 0. Longer, and the run fails and is retried later.
	MaxWait time.Duration
	// Sleep waits d or until ctx ends; a test may hurry it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Limits of a run.
const (
	DefaultMaxBody    = 50 << 20
	DefaultPageSize   = 100
	DefaultMaxPages   = 1000
	DefaultMaxRecords = 1_000_000
	maxTooMany        = 3
)

// First is the cursor of a run's first page.
func First(p Paging) Cursor {
	if p.Kind == PagingPage {
		return Cursor{Page: 1}
	}
	return Cursor{}
}

// Walk fetches pages from cur until the last, handing each to fn; an
// error from fn stops the walk and is returned.
func (f *Fetcher) Walk(ctx context.Context, spec Spec, cur Cursor, fn func(Page) error) error {
	for {
		p, err := f.Fetch(ctx, spec, cur)
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
		if p.Last {
			return nil
		}
		cur = p.Next
	}
}

// Fetch asks for the page at cur. A 429 is waited out, as its Retry-After
// says, a few times; any other answer but 2xx is an error that says what
// the API answered.
func (f *Fetcher) Fetch(ctx context.Context, spec Spec, cur Cursor) (Page, error) {
	start := time.Now()
	body, header, status, err := f.get(ctx, spec, cur)
	if err != nil {
		return Page{}, err
	}
	a, err := Decode(body, spec.RecordsPath)
	if err != nil {
		return Page{}, err
	}
	p := Page{Records: a.Records, Took: time.Since(start), Status: status}
	h := fnv.New64a()
	h.Write(body)
	sum := h.Sum64()
	if cur.Pages > 0 && sum == cur.Sum && len(a.Records) > 0 {
		// The same answer as the page before: the API does not page as
		// told, and what it gave is already written.
		p.Records, p.Last, p.Repeated = nil, true, true
		p.Next = cur
		return p, nil
	}
	if p.Next, p.Last, err = next(spec, cur, a, header); err != nil {
		return Page{}, err
	}
	p.Next.Pages, p.Next.Records, p.Next.Sum = cur.Pages+1, cur.Records+len(p.Records), sum
	if limit := cmp.Or(spec.MaxRecords, DefaultMaxRecords); p.Next.Records >= limit {
		if p.Next.Records > limit {
			p.Records = p.Records[:len(p.Records)-(p.Next.Records-limit)]
			// The page is not all taken: a run that goes on asks for it
			// again.
			p.Next = Cursor{Page: cur.Page, Token: cur.Token, URL: cur.URL, Pages: p.Next.Pages, Sum: cur.Sum}
			p.Next.Records = limit
		}
		p.Capped, p.Last = !p.Last, true
	}
	if p.Next.Pages >= cmp.Or(spec.Paging.MaxPages, DefaultMaxPages) && !p.Last {
		p.Capped, p.Last = true, true
	}
	return p, nil
}

// get makes the request for cur, waiting out 429s, and returns the body
// and headers of a 2xx answer.
func (f *Fetcher) get(ctx context.Context, spec Spec, cur Cursor) ([]byte, http.Header, int, error) {
	for tries := 1; ; tries++ {
		req, err := request(ctx, spec, cur)
		if err != nil {
			return nil, nil, 0, err
		}
		resp, err := f.Client.Do(req)
		if err != nil {
			return nil, nil, 0, unreachable(ctx, err, f.Client.Timeout)
		}
		body, err := f.read(resp)
		if err != nil {
			return nil, nil, 0, err
		}
		switch {
		case resp.StatusCode >= 200 && resp.StatusCode <= 299:
			return body, resp.Header, resp.StatusCode, nil
		case resp.StatusCode != http.StatusTooManyRequests:
			return nil, nil, 0, statusError(spec, resp, body)
		}
		wait := retryAfter(resp.Header.Get("Retry-After"), time.Now())
		if tries >= maxTooMany || wait > cmp.Or(f.MaxWait, 5*time.Minute) {
			return nil, nil, 0, &RetryLater{Wait: wait, Err: fmt.Errorf("the API answered 429 Too Many Requests %d times in a row, and asks to wait %s", tries, wait.Round(time.Second))}
		}
		if err := f.sleep(ctx, wait); err != nil {
			return nil, nil, 0, err
		}
	}
}

// unreachable says why a request got no answer, without its URL, which
// may carry a key in its query.
func unreachable(ctx context.Context, err error, timeout time.Duration) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil && timeout > 0 {
		return fmt.Errorf("the API did not answer within %s", timeout)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("the API could not be reached: %w", err)
}

// RetryLater is a failure the remote API asked to be retried after Wait.
type RetryLater struct {
	Wait time.Duration
	Err  error
}

func (e *RetryLater) Error() string { return e.Err.Error() }
func (e *RetryLater) Unwrap() error { return e.Err }

func (f *Fetcher) sleep(ctx context.Context, d time.Duration) error {
	if f.Sleep != nil {
		return f.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// read reads an answer's body up to the cap.
func (f *Fetcher) read(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	limit := cmp.Or(f.MaxBody, DefaultMaxBody)
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("the answer broke off: %w", err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("the answer is over %d MB; ask for smaller pages", limit>>20)
	}
	return body, nil
}

// request builds the GET for cur, with the paging parameters, the time of
// the last successful run and the credentials.
func request(ctx context.Context, spec Spec, cur Cursor) (*http.Request, error) {
	base, err := url.Parse(spec.URL)
	if err != nil || base.Scheme != "https" || base.Host == "" {
		return nil, errors.New("the source's URL is not an https address")
	}
	u := base
	if cur.URL != "" {
		// A next link goes only to the source's own host, which is the
		// one its credentials are for.
		if u, err = base.Parse(cur.URL); err != nil || u.Scheme != "https" || u.Host != base.Host {
			return nil, fmt.Errorf("the next page's link %q is not on %s over https", cur.URL, base.Host)
		}
	}
	q := u.Query()
	p := spec.Paging
	switch p.Kind {
	case PagingPage:
		q.Set(cmp.Or(p.PageParam, "page"), strconv.Itoa(max(cur.Page, 1)))
		q.Set(cmp.Or(p.SizeParam, "per_page"), strconv.Itoa(cmp.Or(p.Size, DefaultPageSize)))
	case PagingOffset:
		q.Set(cmp.Or(p.PageParam, "offset"), strconv.Itoa(cur.Page))
		q.Set(cmp.Or(p.SizeParam, "limit"), strconv.Itoa(cmp.Or(p.Size, DefaultPageSize)))
	case PagingCursor:
		if cur.Token != "" {
			q.Set(cmp.Or(p.CursorParam, "cursor"), cur.Token)
		}
	}
	if spec.SinceParam != "" && !spec.Since.IsZero() && cur.URL == "" {
		q.Set(spec.SinceParam, spec.Since.UTC().Format(time.RFC3339))
	}
	if spec.Auth.Kind == "query" {
		q.Set(spec.Auth.Name, spec.Auth.Value)
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "Herald")
	for _, h := range spec.Headers {
		req.Header.Set(h.Name, h.Value)
	}
	switch a := spec.Auth; a.Kind {
	case "bearer":
		req.Header.Set("Authorization", "Bearer "+a.Token)
	case "basic":
		req.SetBasicAuth(a.Username, a.Password)
	case "header":
		req.Header.Set(a.Name, a.Value)
	}
	return req, nil
}

// next works out the cursor after an answer, and whether it was the last.
func next(spec Spec, cur Cursor, a Answer, header http.Header) (Cursor, bool, error) {
	p := spec.Paging
	n := len(a.Records)
	// Only an empty page ends page and offset paging: an API may answer
	// fewer than it was asked for, as many cap their pages.
	switch p.Kind {
	case "", PagingNone:
		return Cursor{}, true, nil
	case PagingPage:
		return Cursor{Page: max(cur.Page, 1) + 1}, n == 0, nil
	case PagingOffset:
		return Cursor{Page: cur.Page + n}, n == 0, nil
	case PagingCursor:
		v, _ := Lookup(a.Body, p.CursorField)
		token := Text(v)
		// The same cursor again would ask for the same page for ever.
		return Cursor{Token: token}, token == "" || token == cur.Token || n == 0, nil
	case PagingLink:
		link := nextLink(header.Values("Link"))
		return Cursor{URL: link}, link == "" || link == cur.URL, nil
	}
	return Cursor{}, true, fmt.Errorf("%q is not a kind of paging", p.Kind)
}

// nextLink finds the rel="next" target among Link headers (RFC 8288).
func nextLink(values []string) string {
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			target, params, ok := strings.Cut(strings.TrimSpace(part), ";")
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			for param := range strings.SplitSeq(params, ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(param), "=")
				isNext := func(rel string) bool { return strings.EqualFold(rel, "next") }
				if strings.EqualFold(k, "rel") && slices.ContainsFunc(strings.Fields(strings.Trim(v, `"`)), isNext) {
					return strings.Trim(target, "<>")
				}
			}
		}
	}
	return ""
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date. Without
// one, a minute.
func retryAfter(v string, now time.Time) time.Duration {
	if secs, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return time.Minute
}

// statusError says what a refusal means for the owner.
func statusError(spec Spec, resp *http.Response, body []byte) error {
	// Masked before it is cut, so that no cut-off credential is left.
	snippet := spec.Redact(strings.Join(strings.Fields(string(body[:min(len(body), 4096)])), " "))
	if len(snippet) > 200 {
		snippet = strings.ToValidUTF8(snippet[:200], "")
	}
	what := fmt.Sprintf("the API answered %s", resp.Status)
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		what += ": check the source's credentials"
	case http.StatusNotFound:
		what += ": check the source's URL"
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		what += ": it moved to " + spec.Redact(resp.Header.Get("Location")) + "; Herald follows no redirect, so give that URL"
	}
	if snippet != "" && resp.StatusCode >= 400 {
		what += " (" + snippet + ")"
	}
	return errors.New(what)
}
