package outbound

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"herald/mailer"
	"herald/store"
)

// freezeVariants checks each variant of an A/B test as a campaign is
// checked and keeps their frozen content, with when the winner is due.
func (s *Service) freezeVariants(ctx context.Context, x store.Campaign) error {
	contents := make([]mailer.Content, len(x.AB.Variants))
	for i, v := range x.AB.Variants {
		content, _, err := s.checkCampaign(ctx, v.Apply(x), false)
		var ve *store.ValidationError
		if errors.As(err, &ve) {
			return &store.ValidationError{Fields: map[string]string{fmt.Sprintf("ab.variants[%d]", i): fmt.Sprintf("Variant %c: %s", 'A'+i, fieldText(ve))}}
		}
		if err != nil {
			return err
		}
		if v.FromName != "" {
			// checkCampaign takes the default sender's name with its
			// address; a variant's own name stands.
			content.FromName = v.FromName
		}
		contents[i] = content
	}
	b, err := json.Marshal(contents)
	if err != nil {
		return err
	}
	var decideAt time.Time
	if x.AB.WaitMinutes > 0 && x.AB.TestPercent < 100 {
		decideAt = s.now().Add(time.Duration(x.AB.WaitMinutes) * time.Minute)
	}
	return s.st.FreezeAB(ctx, x.ID, string(b), decideAt)
}

// variantContents are an A/B test's frozen variants, compiled; nil for a
// campaign that is not a test.
func (s *Service) variantContents(ctx context.Context, id int64) ([]variantContent, error) {
	raw, err := s.st.CampaignABFrozen(ctx, id)
	if err != nil || raw == "" {
		return nil, err
	}
	var contents []mailer.Content
	if err := json.Unmarshal([]byte(raw), &contents); err != nil {
		return nil, fmt.Errorf("campaign %d variants: %w", id, err)
	}
	out := make([]variantContent, len(contents))
	for i := range contents {
		compiled, err := mailer.Compile(contents[i].Source)
		if err != nil {
			return nil, fmt.Errorf("campaign %d variant %c: %w", id, 'A'+i, err)
		}
		out[i] = variantContent{content: &contents[i], compiled: compiled}
		if out[i].signer, err = s.signer(ctx, contents[i].FromEmail); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// variantContent is one variant of a test, ready to send.
type variantContent struct {
	content  *mailer.Content
	compiled *mailer.Compiled
	signer   *mailer.DKIMSigner
}

// DecideABTests picks the winner of every test whose wait is over, by its
// metric, and sends it to the rest of the audience.
func (s *Service) DecideABTests(ctx context.Context) error {
	ids, err := s.st.DueABTests(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		t, _, err := s.st.CampaignAB(ctx, id)
		if err != nil || t == nil {
			return err
		}
		results, err := s.st.ABResults(ctx, id, len(t.Variants))
		if err != nil {
			return err
		}
		a := store.AnalyseAB(results, t.Metric)
		how := "after the wait"
		if !a.Enough {
			how = "after the wait, without enough data to tell the variants apart"
		}
		if _, err := s.PickWinner(ctx, id, a.Best, how); err != nil {
			return err
		}
		s.log.Info("A/B test decided", "campaign", id, "winner", string(rune('A'+a.Best)), "verdict", a.Verdict)
	}
	return nil
}

// PickWinner makes variant the winner of a test and sends it to the rest
// of the audience; how says who picked it.
func (s *Service) PickWinner(ctx context.Context, id int64, variant int, how string) (bool, error) {
	ok, err := s.st.DecideAB(ctx, id, variant, how)
	if ok {
		s.dispatcher.Wake()
	}
	return ok, err
}
