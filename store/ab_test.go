package store

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// TestTwoProportionZTest checks the test against values worked out by
// hand and by R's prop.test(correct = FALSE): 250 of 1,000 against 200 of
// 1,000 gives X² = 7.1685, so z = 2.6774 and p = 0.00742.
func TestTwoProportionZTest(t *testing.T) {
	for _, tc := range []struct {
		x1, n1, x2, n2 int
		z, p           float64
		enough         bool
	}{
		{250, 1000, 200, 1000, 2.6774, 0.00742, true},
		{200, 1000, 250, 1000, -2.6774, 0.00742, true},
		// 120/400 against 100/400: pooled p = 0.275, se = 0.031574.
		{120, 400, 100, 400, 1.5836, 0.1133, true},
		{50, 50, 45, 50, 0, 0, false}, // fewer than 5 failures on a side
		{1, 200, 3, 200, 0, 0, false}, // 2 successes expected a side
		// 12/12 against 6/20: pooled 18/32, enough expected on each side.
		{12, 12, 6, 20, 3.8644, 0.000111, true},
	} {
		c := twoProportion(tc.x1, tc.n1, tc.x2, tc.n2)
		if c.Enough != tc.enough {
			t.Errorf("%d/%d vs %d/%d: enough = %v, want %v", tc.x1, tc.n1, tc.x2, tc.n2, c.Enough, tc.enough)
			continue
		}
		if !tc.enough {
			continue
		}
		if math.Abs(c.Z-tc.z) > 5e-4 || math.Abs(c.P-tc.p) > 5e-5 {
			t.Errorf("%d/%d vs %d/%d: got z %.4f p %.5f, want z %.4f p %.5f", tc.x1, tc.n1, tc.x2, tc.n2, c.Z, c.P, tc.z, tc.p)
		}
	}
}

// TestAnalyseABVerdicts: the best variant by each metric, a significant
// win stated with its confidence, a close one called possibly chance, too
// little data called that, and Bonferroni's correction with three
// variants.
func TestAnalyseABVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		results []VariantResult
		metric  string
		best    int
		verdict string
	}{
		{"B wins on opens", []VariantResult{{Sent: 1000, Opened: 200}, {Variant: 1, Sent: 1000, Opened: 250}}, MetricOpen, 1, "significant at 95%"},
		{"close", []VariantResult{{Sent: 400, Opened: 120}, {Variant: 1, Sent: 400, Opened: 100}}, MetricOpen, 0, "not significant"},
		{"too few", []VariantResult{{Sent: 20, Opened: 3}, {Variant: 1, Sent: 20, Opened: 4}}, MetricOpen, 1, "Not enough data"},
		{"click to open", []VariantResult{{Sent: 1000, Opened: 100, Clicked: 40}, {Variant: 1, Sent: 1000, Opened: 300, Clicked: 60}}, MetricClickOpen, 0, "significant at 95%"},
		// p = 0.034 is under 0.05 but over 0.05/2: not significant for three.
		{"Bonferroni", []VariantResult{{Sent: 1000, Opened: 250}, {Variant: 1, Sent: 1000, Opened: 210}, {Variant: 2, Sent: 1000, Opened: 100}}, MetricOpen, 0, "not significant"},
	} {
		a := AnalyseAB(tc.results, tc.metric)
		if a.Best != tc.best || !strings.Contains(a.Verdict, tc.verdict) {
			t.Errorf("%s: got best %d, %q; want best %d, %q", tc.name, a.Best, a.Verdict, tc.best, tc.verdict)
		}
	}
}

// TestWinnerPickedWhileTheAudienceIsWritten: the part of the audience
// written after the winner is picked gets the winner, not variant A.
func TestWinnerPickedWhileTheAudienceIsWritten(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	name := "News"
	l, err := s.CreateList(ctx, ListInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		e := fmt.Sprintf("c%d@example.com", i)
		if _, _, err := s.CreateContact(ctx, ContactInput{Email: &e, Lists: []int64{l.ID}, Source: "test"}, false); err != nil {
			t.Fatal(err)
		}
	}
	ab := &ABTest{Variants: []ABVariant{{}, {Subject: "B"}}, TestPercent: 20, Metric: MetricOpen}
	c, err := s.CreateCampaign(ctx, CampaignInput{Name: &name, ListIDs: &[]int64{l.ID}, AB: ab})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.FreezeAB(ctx, c.ID, "[{},{}]", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartCampaign(ctx, c.ID, "{}"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DecideAB(ctx, c.ID, 1, "by hand"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Materialise(ctx, c.ID, Audience{Lists: []int64{l.ID}}); err != nil {
		t.Fatal(err)
	}
	sends, _, err := s.CampaignSends(ctx, c.ID, "", Order{}, 100, 0)
	if err != nil || len(sends) != 40 {
		t.Fatalf("sends: %d %v", len(sends), err)
	}
	for _, sd := range sends {
		if sd.Variant != VariantWinner+1 {
			t.Fatalf("a send written after the pick has variant %d, want %d (the winner, B)", sd.Variant, VariantWinner+1)
		}
	}
}
