package store

import (
	"context"
	"errors"
	"testing"
)

// TestCampaignActionsFollowOneTable tries every action from every status:
// only the changes of campaignTransition succeed, each to its status, and
// the rest are refused with a message, leaving the campaign as it was.
func TestCampaignActionsFollowOneTable(t *testing.T) {
	t.Parallel()
	s, _ := openTestStore(t)
	ctx := context.Background()
	allowed := map[[2]string]string{
		{ActionPause, CampaignSending}:        CampaignPaused,
		{ActionResume, CampaignPaused}:        CampaignSending,
		{ActionCancel, CampaignSending}:       CampaignCancelled,
		{ActionCancel, CampaignPaused}:        CampaignCancelled,
		{ActionCancel, CampaignScheduled}:     CampaignCancelled,
		{ActionUnschedule, CampaignScheduled}: CampaignDraft,
	}
	statuses := []string{CampaignDraft, CampaignScheduled, CampaignSending, CampaignPaused, CampaignSent, CampaignCancelled}
	for _, action := range []string{ActionPause, ActionResume, ActionCancel, ActionUnschedule} {
		for _, from := range statuses {
			c, err := s.CreateCampaign(ctx, CampaignInput{Name: ptr(action + " from " + from)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.w.ExecContext(ctx, `UPDATE campaigns SET status = ? WHERE id = ?`, from, c.ID); err != nil {
				t.Fatal(err)
			}
			got, err := s.ChangeCampaign(ctx, c.ID, action)
			want, ok := allowed[[2]string{action, from}]
			var ve *ValidationError
			switch {
			case ok && (err != nil || got.Status != want):
				t.Errorf("%s from %s: got %s, %v; want %s", action, from, got.Status, err, want)
			case !ok && !errors.As(err, &ve):
				t.Errorf("%s from %s: got %s, %v; want refused", action, from, got.Status, err)
			case !ok:
				if now, _ := s.Campaign(ctx, c.ID); now.Status != from {
					t.Errorf("%s from %s refused, but the campaign became %s", action, from, now.Status)
				}
			}
		}
	}
	c, _ := s.CreateCampaign(ctx, CampaignInput{Name: ptr("Unknown action")})
	var ve *ValidationError
	if _, err := s.ChangeCampaign(ctx, c.ID, "explode"); !errors.As(err, &ve) || ve.Fields["action"] == "" {
		t.Errorf("an unknown action: got %v, want a validation error naming it", err)
	}
}
