package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// Metrics an A/B test picks its winner by.
const (
	MetricOpen       = "open"          // unique opens / delivered
	MetricClick      = "click"         // unique clicks / delivered
	MetricClickOpen  = "click_to_open" // unique clicks / unique opens
	maxVariants      = 4
	maxABWaitMinutes = 7 * 24 * 60
)

// A/B statuses: testing while the test share is sent and the wait runs,
// decided once the winner is known (and goes to the rest).
const (
	ABTesting = "testing"
	ABDecided = "decided"
	// ABDone is a test everyone was in: no winner goes to anyone.
	ABDone = "done"
)

// Send variants beyond the test's own (0 to 3).
const (
	// VariantHeld marks a send held back for the winner.
	VariantHeld = -1
	// VariantWinner plus the winner's index marks a send to the rest of the
	// audience, with the winning variant.
	VariantWinner = 100
)

// ABTest makes a campaign an A/B test: a share of its audience, split
// evenly at random, gets one of 2 to 4 variants; after a wait the variant
// with the best rate by Metric (or the one picked by hand) goes to the
// rest.
type ABTest struct {
	Variants []ABVariant `json:"variants"`
	// TestPercent is the share of the audience in the test, 1 to 100; at
	// 100 everyone is in it and nothing waits for a winner.
	TestPercent int    `json:"test_percent"`
	Metric      string `json:"metric"`
	// WaitMinutes is how long after the start the winner is picked; 0
	// leaves it to the owner.
	WaitMinutes int `json:"wait_minutes"`
}

// ABVariant is what one variant changes; what it leaves empty is the
// campaign's own.
type ABVariant struct {
	Subject    string `json:"subject,omitempty"`
	Preheader  string `json:"preheader,omitempty"`
	FromName   string `json:"from_name,omitempty"`
	TemplateID int64  `json:"template_id,omitempty"`
	Body       string `json:"body,omitempty"`
}

// Apply is the campaign as variant v sends it.
func (v ABVariant) Apply(c Campaign) Campaign {
	for _, f := range []struct {
		dst *string
		v   string
	}{{&c.Subject, v.Subject}, {&c.Preheader, v.Preheader}, {&c.FromName, v.FromName}} {
		if f.v != "" {
			*f.dst = f.v
		}
	}
	if v.TemplateID != 0 {
		c.TemplateID, c.Body = v.TemplateID, ""
	} else if v.Body != "" {
		c.TemplateID, c.Body = 0, v.Body
	}
	return c
}

// check says what is wrong with the test, by field.
func (t *ABTest) check(errs map[string]string) {
	if len(t.Variants) < 2 || len(t.Variants) > maxVariants {
		errs["ab.variants"] = "An A/B test has 2 to 4 variants."
	}
	if t.TestPercent < 1 || t.TestPercent > 100 {
		errs["ab.test_percent"] = "Give the share of the audience in the test as 1 to 100 percent."
	}
	switch t.Metric {
	case MetricOpen, MetricClick, MetricClickOpen:
	default:
		errs["ab.metric"] = "Pick the winner by open, click or click_to_open."
	}
	if t.WaitMinutes < 0 || t.WaitMinutes > maxABWaitMinutes {
		errs["ab.wait_minutes"] = "Wait 0 (pick by hand) to 10,080 minutes (a week) before picking the winner."
	}
	for i, v := range t.Variants {
		if len(v.Subject) > 500 || len(v.Preheader) > 500 || len(v.FromName) > 200 || len(v.Body) > maxCampaignBody {
			errs[fmt.Sprintf("ab.variants[%d]", i)] = "A variant's subject and preheader have at most 500 characters, its from name 200."
		}
	}
}

// VariantResult is how one variant of an A/B test did.
type VariantResult struct {
	Variant int
	Sent    int
	Opened  int
	Clicked int
}

// ABResults returns how each test variant did: its test sends delivered,
// and those opened and clicked (unique).
func (s *Store) ABResults(ctx context.Context, id int64, variants int) ([]VariantResult, error) {
	out := make([]VariantResult, variants)
	for i := range out {
		out[i].Variant = i
	}
	// People's opens and clicks, as the report counts them: an image proxy
	// or a link scanner must not pick the winner. A hard bounce was not
	// delivered.
	rows, err := s.r.QueryContext(ctx, `SELECT variant, count(*), count(CASE WHEN human_opens > 0 OR human_clicks > 0 THEN 1 END),
	count(CASE WHEN human_clicks > 0 THEN 1 END) FROM sends
WHERE campaign_id = ? AND variant BETWEEN 0 AND ? AND status = 'sent' AND bounce != 'hard' GROUP BY variant`, id, variants-1)
	if err != nil {
		return nil, fmt.Errorf("store: campaign %d A/B results: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var r VariantResult
		if err := rows.Scan(&r.Variant, &r.Sent, &r.Opened, &r.Clicked); err != nil {
			return nil, err
		}
		out[r.Variant] = r
	}
	return out, rows.Err()
}

// ABState is where a campaign's A/B test stands.
type ABState struct {
	Status    string
	Winner    int
	DecideAt  time.Time
	DecidedAt time.Time
	DecidedBy string
}

// CampaignAB returns a campaign's test and where it stands; a nil test
// for a campaign that is not one.
func (s *Store) CampaignAB(ctx context.Context, id int64) (*ABTest, ABState, error) {
	var raw string
	var st ABState
	var decide, decided sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT ab, ab_status, ab_winner, ab_decide_at, ab_decided_at, ab_decided_by FROM campaigns WHERE id = ?`, id).
		Scan(&raw, &st.Status, &st.Winner, &decide, &decided, &st.DecidedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, st, ErrNotFound
	}
	if err != nil {
		return nil, st, fmt.Errorf("store: campaign %d A/B: %w", id, err)
	}
	if decide.Valid {
		st.DecideAt = fromUnix(decide.Int64)
	}
	if decided.Valid {
		st.DecidedAt = fromUnix(decided.Int64)
	}
	if raw == "" {
		return nil, st, nil
	}
	var t ABTest
	return &t, st, json.Unmarshal([]byte(raw), &t)
}

// HeldForWinner counts the sends of campaign id held back for its test's
// winner.
func (s *Store) HeldForWinner(ctx context.Context, id int64) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM sends WHERE campaign_id = ? AND variant = -1 AND status = 'queued'`, id).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: campaign %d held for the winner: %w", id, err)
	}
	return n, nil
}

// DueABTests returns the sending campaigns whose test waited long enough
// for its winner.
func (s *Store) DueABTests(ctx context.Context) ([]int64, error) {
	return queryIDs(ctx, s.r, `SELECT id FROM campaigns WHERE ab_status = 'testing' AND ab_decide_at <= ? AND status = 'sending'`, unix(s.now()))
}

// DecideAB names variant the winner of campaign id's test (how says
// whether by the wait or by hand), and releases the sends held back for
// it: the rest of the audience gets the winner. A test decided already
// is left as it is.
func (s *Store) DecideAB(ctx context.Context, id int64, variant int, how string) (bool, error) {
	now := unix(s.now())
	decided := false
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		var raw, status, campaign string
		if err := tx.QueryRowContext(ctx, `SELECT ab, ab_status, status FROM campaigns WHERE id = ?`, id).Scan(&raw, &status, &campaign); errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		var t ABTest
		if raw == "" || json.Unmarshal([]byte(raw), &t) != nil {
			return &ValidationError{Fields: map[string]string{"variant": "This campaign is not an A/B test."}}
		}
		if status != ABTesting {
			return &ValidationError{Fields: map[string]string{"variant": "The test's winner is picked already, everyone was in the test, or the campaign has not started."}}
		}
		if campaign != CampaignSending && campaign != CampaignPaused {
			return &ValidationError{Fields: map[string]string{"variant": "The campaign is " + campaign + ": there is nobody left to send a winner to."}}
		}
		if variant < 0 || variant >= len(t.Variants) {
			return &ValidationError{Fields: map[string]string{"variant": fmt.Sprintf("Pick a variant from 0 to %d.", len(t.Variants)-1)}}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET ab_status = 'decided', ab_winner = ?, ab_decided_at = ?, ab_decided_by = ?, updated_at = ? WHERE id = ?`,
			variant, now, how, now, id); err != nil {
			return err
		}
		decided = true
		_, err := tx.ExecContext(ctx, `UPDATE sends SET variant = ?, next_attempt_at = ?, updated_at = ? WHERE campaign_id = ? AND variant = -1 AND status = 'queued'`,
			VariantWinner+variant, now, now, id)
		return err
	})
	if err != nil {
		return false, wrapValidation(err, fmt.Sprintf("store: decide campaign %d", id))
	}
	return decided, nil
}

// testOf is a campaign's A/B test while it is being tested, nil otherwise.
func testOf(raw, status string) *ABTest {
	if raw == "" || status != ABTesting {
		return nil
	}
	var t ABTest
	if json.Unmarshal([]byte(raw), &t) != nil || len(t.Variants) < 2 {
		return nil
	}
	return &t
}

// materialiseAB writes a batch of an A/B test's outbox: each recipient is
// in the test share at random, and the test's recipients take the
// variants in turn, in a random order, so the variants split them evenly
// across batches; the others are held back for the winner. It returns how
// many it wrote.
func materialiseAB(ctx context.Context, tx *sql.Tx, campaignID int64, q string, batch []any, now int64, t *ABTest, assigned int64) (int64, error) {
	share := t.TestPercent * 100 // of 10,000
	// The draw is made once per recipient (MATERIALIZED): random() read
	// twice would disagree with itself.
	rows, err := tx.QueryContext(ctx, `WITH pick AS MATERIALIZED (
	SELECT id, email, abs(random() % 10000) < ?6 AS tested, random() AS r FROM (`+q+`) WHERE skip IS NULL),
assigned AS MATERIALIZED (
	SELECT id, email, CASE WHEN tested THEN (?4 + row_number() OVER (PARTITION BY tested ORDER BY r) - 1) % ?5 ELSE -1 END AS v FROM pick)
INSERT INTO sends (campaign_id, contact_id, email, updated_at, variant, next_attempt_at)
SELECT ?1, id, email, ?2, v, CASE WHEN v < 0 THEN ?3 ELSE ?2 END FROM assigned WHERE true ORDER BY id
ON CONFLICT DO NOTHING RETURNING variant`,
		append([]any{campaignID, now, heldUntil, assigned, len(t.Variants), share}, batch...)...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var added, tested int64
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return 0, err
		}
		added++
		if v >= 0 {
			tested++
		}
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	_, err = tx.ExecContext(ctx, `UPDATE campaigns SET ab_assigned = ab_assigned + ? WHERE id = ?`, tested, campaignID)
	return added, err
}

// FreezeAB keeps, as a test starts, each variant's frozen content, and
// when its winner is due (zero for by hand).
func (s *Store) FreezeAB(ctx context.Context, id int64, variants string, decideAt time.Time) error {
	var at any
	if !decideAt.IsZero() {
		at = unix(decideAt)
	}
	_, err := s.w.ExecContext(ctx, `UPDATE campaigns SET ab_frozen = ?, ab_status = 'testing', ab_decide_at = ?, ab_winner = -1, ab_assigned = 0
WHERE id = ? AND status IN ('draft', 'scheduled')`, variants, at, id)
	if err != nil {
		return fmt.Errorf("store: campaign %d freeze variants: %w", id, err)
	}
	return nil
}

// CampaignABFrozen returns the frozen content of each of a test's
// variants, as JSON; "" for a campaign that is not a test.
func (s *Store) CampaignABFrozen(ctx context.Context, id int64) (string, error) {
	return s.campaignFrozen(ctx, id, `ab_frozen`)
}

// heldUntil is the next attempt time of a send held back for a test's
// winner: never, until DecideAB releases it.
const heldUntil = math.MaxInt32

// Comparison is one variant against the best by a test's metric: the
// two-proportion z-test of their rates.
type Comparison struct {
	Variant int
	// Enough says each side has at least 5 successes and 5 failures, which
	// the normal approximation of the test needs; without it Z and P mean
	// nothing.
	Enough bool
	Z, P   float64
	// Significant at 95% with Bonferroni's correction for the comparisons
	// made.
	Significant bool
}

// ABAnalysis is what an A/B test's numbers say.
type ABAnalysis struct {
	Metric string
	// Rates are each variant's rate by the metric, 0 to 1; Bases what each
	// is out of (delivered, or opened for click-to-open).
	Rates []float64
	Bases []int
	Best  int
	// Enough says every comparison had enough data to mean anything.
	Enough bool
	// Compared are the other variants against the best.
	Compared []Comparison
	// Verdict says in words what the test shows, honestly.
	Verdict string
}

// AnalyseAB compares the variants by metric: the best rate, and each other
// variant against it by a two-proportion z-test (pooled), significant at
// 95% after Bonferroni's correction for the comparisons made. Too few
// successes or failures on a side and the verdict is "not enough data".
func AnalyseAB(results []VariantResult, metric string) ABAnalysis {
	a := ABAnalysis{Metric: metric, Rates: make([]float64, len(results)), Bases: make([]int, len(results))}
	hits := make([]int, len(results))
	for i, r := range results {
		switch metric {
		case MetricClick:
			hits[i], a.Bases[i] = r.Clicked, r.Sent
		case MetricClickOpen:
			hits[i], a.Bases[i] = r.Clicked, r.Opened
		default:
			hits[i], a.Bases[i] = r.Opened, r.Sent
		}
		if a.Bases[i] > 0 {
			a.Rates[i] = float64(hits[i]) / float64(a.Bases[i])
		}
		if a.Rates[i] > a.Rates[a.Best] {
			a.Best = i
		}
	}
	if len(results) < 2 {
		a.Verdict = "Not an A/B test."
		return a
	}
	comparisons := float64(len(results) - 1)
	alpha := 0.05 / comparisons
	enough, significant, worstP := true, true, 0.0
	for i := range results {
		if i == a.Best {
			continue
		}
		c := twoProportion(hits[a.Best], a.Bases[a.Best], hits[i], a.Bases[i])
		c.Variant = i
		c.Significant = c.Enough && c.P < alpha
		enough = enough && c.Enough
		significant = significant && c.Significant
		worstP = math.Max(worstP, c.P)
		a.Compared = append(a.Compared, c)
	}
	a.Enough = enough
	// The confidence stated is after the correction: 1 - p × comparisons.
	adjusted := math.Min(1, worstP*comparisons)
	name := string(rune('A' + a.Best))
	switch {
	case !enough:
		a.Verdict = "Not enough data yet: each variant needs about 5 " + metricNoun(metric) + " and 5 without, at the rate they share, for the test to mean anything."
	case significant:
		a.Verdict = fmt.Sprintf("Variant %s is ahead, significant at 95%% (two-proportion z-test, %s).", name, confidenceText(worstP, adjusted, comparisons))
	default:
		a.Verdict = fmt.Sprintf("Variant %s is ahead, but the difference is not significant at 95%% (two-proportion z-test, %s): it may be chance.", name,
			confidenceText(worstP, adjusted, comparisons))
	}
	return a
}

// confidenceText states a p-value and the confidence it gives, after
// Bonferroni's correction when there were several comparisons.
func confidenceText(p, adjusted, comparisons float64) string {
	conf := 100 * (1 - adjusted)
	pText := fmt.Sprintf("p = %.2g", p)
	if p < 0.001 {
		pText = "p < 0.001"
	}
	confText := fmt.Sprintf("%.1f%% confidence", conf)
	if conf > 99.9 {
		confText = "over 99.9% confidence"
	}
	if comparisons > 1 {
		return fmt.Sprintf("%s, %s after correcting for %g comparisons", pText, confText, comparisons)
	}
	return pText + ", " + confText
}

func metricNoun(metric string) string {
	if metric == MetricOpen {
		return "opens"
	}
	return "clicks"
}

// twoProportion is the pooled two-proportion z-test of x1/n1 against
// x2/n2, two-sided.
func twoProportion(x1, n1, x2, n2 int) Comparison {
	c := Comparison{}
	if n1 == 0 || n2 == 0 {
		return c
	}
	p1, p2 := float64(x1)/float64(n1), float64(x2)/float64(n2)
	p := float64(x1+x2) / float64(n1+n2)
	// The normal approximation needs at least 5 expected successes and 5
	// expected failures on each side, under the pooled rate.
	for _, n := range []float64{float64(n1), float64(n2)} {
		if n*p < 5 || n*(1-p) < 5 {
			return c
		}
	}
	c.Enough = true
	se := math.Sqrt(p * (1 - p) * (1/float64(n1) + 1/float64(n2)))
	if se == 0 {
		c.P = 1
		return c
	}
	c.Z = (p1 - p2) / se
	c.P = math.Erfc(math.Abs(c.Z) / math.Sqrt2)
	return c
}
