package web

import (
	"context"
	"math"
	"net/http"
	"time"

	"github.com/labstack/echo/v5"

	"herald/store"
)

// abJSON is an A/B test's report: each variant's numbers and what they
// say, with the test used.
type abJSON struct {
	// Status is testing (the test share is going out, or the wait runs)
	// or decided; "" before the campaign starts.
	Status      string          `json:"status"`
	Metric      string          `json:"metric"`
	TestPercent int             `json:"test_percent"`
	WaitMinutes int             `json:"wait_minutes"`
	DecideAt    *time.Time      `json:"decide_at"`
	Winner      *int            `json:"winner"`
	DecidedAt   *time.Time      `json:"decided_at"`
	DecidedBy   string          `json:"decided_by"`
	Variants    []abVariantJSON `json:"variants"`
	// Best is the variant ahead by the metric; Verdict says whether that
	// means anything.
	Best        int                `json:"best"`
	Verdict     string             `json:"verdict"`
	Test        string             `json:"test"`
	Comparisons []abComparisonJSON `json:"comparisons"`
}

type abVariantJSON struct {
	Variant int             `json:"variant"`
	Name    string          `json:"name"`
	Changes store.ABVariant `json:"changes"`
	Sent    int             `json:"sent"`
	Opened  int             `json:"opened"`
	Clicked int             `json:"clicked"`
	// Rate is by the test's metric, 0 to 1, out of Base.
	Rate float64 `json:"rate"`
	Base int     `json:"base"`
}

type abComparisonJSON struct {
	// Variant against the best.
	Variant int  `json:"variant"`
	Enough  bool `json:"enough_data"`
	// Z, P and Confidence (1 - P) are null without enough data.
	Z           *float64 `json:"z"`
	P           *float64 `json:"p"`
	Confidence  *float64 `json:"confidence"`
	Significant bool     `json:"significant"`
}

// abTestName says which test the report uses.
const abTestName = "Two-proportion z-test (pooled, two-sided) of each variant against the best, significant at 95% after Bonferroni's correction; each side needs about 5 successes and 5 failures expected at the rate the two share."

// abReport reads a campaign's test and what its numbers say; nil for a
// campaign that is not a test.
func (s *Server) abReport(ctx context.Context, id int64) (*abJSON, error) {
	t, st, err := s.store.CampaignAB(ctx, id)
	if err != nil || t == nil {
		return nil, err
	}
	results, err := s.store.ABResults(ctx, id, len(t.Variants))
	if err != nil {
		return nil, err
	}
	a := store.AnalyseAB(results, t.Metric)
	out := &abJSON{Status: st.Status, Metric: t.Metric, TestPercent: t.TestPercent, WaitMinutes: t.WaitMinutes, DecideAt: optTime(st.DecideAt),
		DecidedAt: optTime(st.DecidedAt), DecidedBy: st.DecidedBy, Best: a.Best, Verdict: a.Verdict, Test: abTestName, Comparisons: []abComparisonJSON{}}
	if st.Status == store.ABDecided {
		w := st.Winner
		out.Winner = &w
	}
	for i, r := range results {
		out.Variants = append(out.Variants, abVariantJSON{Variant: i, Name: string(rune('A' + i)), Changes: t.Variants[i], Sent: r.Sent, Opened: r.Opened,
			Clicked: r.Clicked, Rate: a.Rates[i], Base: a.Bases[i]})
	}
	for _, c := range a.Compared {
		j := abComparisonJSON{Variant: c.Variant, Enough: c.Enough, Significant: c.Significant}
		if c.Enough {
			z, p, conf := round4(c.Z), c.P, 1-c.P
			j.Z, j.P, j.Confidence = &z, &p, &conf
		}
		out.Comparisons = append(out.Comparisons, j)
	}
	return out, nil
}

func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }

func (s *Server) apiCampaignAB(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	r, err := s.abReport(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if r == nil {
		return apiErr(http.StatusNotFound, "not_found", "This campaign is not an A/B test.")
	}
	return apiData(c, http.StatusOK, r)
}

// abWinnerBody picks a test's winner by hand.
type abWinnerBody struct {
	Variant *int `json:"variant"`
}

// apiCampaignSeries starts (on) or stops a recurring campaign's schedule.
func (s *Server) apiCampaignSeries(on bool) echo.HandlerFunc {
	return func(c *echo.Context) error {
		id, err := pathID(c)
		if err != nil {
			return err
		}
		ctx := c.Request().Context()
		var x store.Campaign
		if on {
			x, err = s.out.StartSeries(ctx, id)
		} else {
			x, err = s.out.StopSeries(ctx, id)
		}
		if err != nil {
			return err
		}
		return apiData(c, http.StatusOK, toCampaignJSON(x))
	}
}

func (s *Server) apiCampaignABWinner(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var b abWinnerBody
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	if b.Variant == nil {
		return &store.ValidationError{Fields: map[string]string{"variant": "Name the winning variant: 0 for A, 1 for B, …"}}
	}
	ctx := c.Request().Context()
	if _, err := s.out.PickWinner(ctx, id, *b.Variant, "by hand"); err != nil {
		return err
	}
	r, err := s.abReport(ctx, id)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, r)
}
