// Package webhooks delivers the events Herald records to the endpoints
// that want them: signed as Standard Webhooks, at least once, retried with
// backoff for 3 days, each attempt logged.
package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"herald/scheduler"
	"herald/scheduler/netguard"
	"herald/store"
)

// Delivery limits.
const (
	// Timeout is how long an endpoint has to answer, unless Config says.
	Timeout = 10 * time.Second
	// maxResponse is the most of an answer read.
	maxResponse = 1 << 20
	// maxLogged is the most of an answer's body kept for the log.
	maxLogged = 4096
	// lease is how long a claimed delivery is held: past it, after a
	// crash, it is sent again.
	lease = 2 * time.Minute
)

// Config is what a Deliverer is built from. Store, Log and Guard are
// required.
type Config struct {
	Store *store.Store
	Log   *slog.Logger
	Guard *netguard.Guard
	// Notify tells the owners something needs them, such as an endpoint
	// disabled after 3 days of failures.
	Notify func(ctx context.Context, subject, text string)
	// Workers is how many deliveries are in flight at once; 32 when zero.
	Workers int
	// Idle is how long the deliverer sleeps with nothing due, as changes
	// record events without waking it; 1 s when zero.
	Idle time.Duration
	// FirstRetry is the delay after a first failure, doubled after each
	// next one up to 4 hours; 10 s when zero.
	FirstRetry time.Duration
	// Timeout is how long an endpoint has to answer; 10 s when zero.
	Timeout time.Duration
}

// Deliverer sends pending deliveries.
type Deliverer struct {
	cfg    Config
	client *http.Client
	signal scheduler.Signal
}

// New builds a Deliverer.
func New(cfg Config) (*Deliverer, error) {
	if cfg.Store == nil || cfg.Log == nil || cfg.Guard == nil {
		return nil, errors.New("webhooks: a store, a logger and a guard are required")
	}
	if cfg.Workers == 0 {
		cfg.Workers = 32
	}
	if cfg.Idle == 0 {
		cfg.Idle = time.Second
	}
	if cfg.FirstRetry == 0 {
		cfg.FirstRetry = 10 * time.Second
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = Timeout
	}
	return &Deliverer{cfg: cfg, client: cfg.Guard.Client(cfg.Timeout, cfg.Workers)}, nil
}

// Wake tells the deliverer there is a new event to send.
func (d *Deliverer) Wake() { d.signal.Wake() }

// retryIn is the delay before the next try after attempts failures:
// doubling from FirstRetry up to 4 hours, give or take a fifth, so that
// endpoints coming back are not all retried in the same second.
func (d *Deliverer) retryIn(attempts int) time.Duration {
	delay := 4 * time.Hour
	if attempts < 20 {
		delay = min(delay, d.cfg.FirstRetry<<(attempts-1))
	}
	return time.Duration(float64(delay) * (0.8 + 0.4*rand.Float64()))
}

// Run delivers until ctx ends: it claims what is due, sends it with
// Workers at once, and records each attempt in batches. On its way out it
// finishes the deliveries in flight and records them.
func (d *Deliverer) Run(ctx context.Context) error {
	if n, err := d.cfg.Store.ReleaseDeliveryLeases(ctx); err != nil {
		return err
	} else if n > 0 {
		d.cfg.Log.Info("webhooks: sending again what was in flight when Herald stopped", "deliveries", n)
	}
	jobs := make(chan store.Delivery)
	results := make(chan store.AttemptOutcome, d.cfg.Workers)
	var workers sync.WaitGroup
	for range d.cfg.Workers {
		workers.Go(func() {
			for del := range jobs {
				results <- d.deliver(context.WithoutCancel(ctx), del)
			}
		})
	}
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		d.record(results)
	}()
	d.claimLoop(ctx, jobs)
	close(jobs)
	workers.Wait()
	close(results)
	<-recorded
	return nil
}

// claimLoop hands due deliveries to the workers until ctx ends.
func (d *Deliverer) claimLoop(ctx context.Context, jobs chan<- store.Delivery) {
	st := d.cfg.Store
	for ctx.Err() == nil {
		wake := d.signal.Next()
		batch, err := st.ClaimDeliveries(ctx, 4*d.cfg.Workers, lease)
		if err != nil {
			if ctx.Err() == nil {
				d.cfg.Log.Error("webhooks: claiming deliveries", "err", err)
				sleep(ctx, nil, 5*time.Second)
			}
			continue
		}
		for i, del := range batch {
			select {
			case jobs <- del:
			case <-ctx.Done():
				// The rest go back when their lease ends.
				d.cfg.Log.Info("webhooks: stopping", "unsent", len(batch)-i)
				return
			}
		}
		if len(batch) > 0 {
			continue
		}
		wait := d.cfg.Idle
		if next, ok, err := st.NextDeliveryDue(ctx); err == nil && ok {
			wait = min(wait, max(time.Until(next), 10*time.Millisecond))
		}
		sleep(ctx, wake, wait)
	}
}

func sleep(ctx context.Context, wake <-chan struct{}, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-wake:
	case <-t.C:
	}
}

// record writes attempts in batches: what came in the last moment, or
// 256 at most, in one transaction.
func (d *Deliverer) record(results <-chan store.AttemptOutcome) {
	var batch []store.AttemptOutcome
	flush := func() {
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		disabled, err := d.cfg.Store.RecordAttempts(ctx, batch, d.retryIn)
		if err != nil {
			// Unrecorded, the deliveries are sent again when their lease ends.
			d.cfg.Log.Error("webhooks: recording attempts", "attempts", len(batch), "err", err)
		}
		for _, w := range disabled {
			d.cfg.Log.Warn("webhooks: endpoint disabled after 3 days of failures", "webhook", w.ID, "url", w.URL)
			if d.cfg.Notify != nil {
				d.cfg.Notify(ctx, "Webhook endpoint disabled", fmt.Sprintf("Every delivery to %s failed for 3 days, so Herald stopped sending to it.\n\n"+
					"Open Settings → Webhooks to see the failures in its delivery log. Once the endpoint works, enable it again; "+
					"events from while it was disabled can be sent again from the log.", w.URL))
			}
		}
		batch = batch[:0]
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case r, ok := <-results:
			if !ok {
				flush()
				return
			}
			batch = append(batch, r)
			if len(batch) >= 256 {
				flush()
			}
		case <-tick.C:
			flush()
		}
	}
}

// deliver posts one event and says how it went.
func (d *Deliverer) deliver(ctx context.Context, del store.Delivery) store.AttemptOutcome {
	start := time.Now()
	out := store.AttemptOutcome{Delivery: del, Attempt: store.Attempt{DeliveryID: del.ID, At: start}}
	a := &out.Attempt
	ts := start.Unix()
	sig, err := signatures(del.Secrets, del.EventUID, ts, del.Payload)
	if err != nil {
		a.Error = err.Error()
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, del.URL, bytes.NewReader(del.Payload))
	if err != nil {
		a.Error = "The endpoint's address cannot be used: " + err.Error()
		return out
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "Herald-Webhooks/1")
	h.Set("webhook-id", del.EventUID)
	h.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	h.Set("webhook-signature", sig)
	a.Request = dumpRequest(req, del.Payload)
	resp, err := d.client.Do(req)
	a.Latency = time.Since(start)
	if err != nil {
		a.Error = d.describe(err)
		return out
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	a.Latency = time.Since(start)
	a.StatusCode = resp.StatusCode
	a.Response = dumpResponse(resp, body)
	switch {
	case len(body) > maxResponse:
		a.Response += "\n… (the answer passed 1 MB; Herald read no more)"
	case err != nil && a.OK():
		a.Error = "The answer broke off: " + err.Error()
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		a.Error = "The endpoint redirects to " + resp.Header.Get("Location") + ", and Herald does not follow redirects: give the final address."
	} else if !a.OK() {
		a.Error = fmt.Sprintf("The endpoint answered %d: only a 2xx answer means it took the event.", resp.StatusCode)
	}
	return out
}

// describe says why a request got no answer, for the log.
func (d *Deliverer) describe(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Timeout() {
		return fmt.Sprintf("No answer within %s.", d.cfg.Timeout)
	}
	if msg := err.Error(); errors.Is(err, netguard.ErrRefused) {
		return "Not sent: " + msg[strings.Index(msg, netguard.ErrRefused.Error()+": ")+len(netguard.ErrRefused.Error())+2:]
	}
	return "No answer: " + err.Error()
}

// dumpRequest writes a request as the log shows it.
func dumpRequest(r *http.Request, body []byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "POST %s\n", r.URL)
	writeHeaders(&b, r.Header)
	b.WriteString("\n")
	b.Write(body)
	return b.String()
}

// dumpResponse writes a response as the log shows it.
func dumpResponse(r *http.Response, body []byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", r.Proto, r.Status)
	writeHeaders(&b, r.Header)
	b.WriteString("\n")
	b.Write(body[:min(len(body), maxLogged)])
	return b.String()
}

func writeHeaders(b *strings.Builder, h http.Header) {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			fmt.Fprintf(b, "%s: %s\n", k, v)
		}
	}
}
