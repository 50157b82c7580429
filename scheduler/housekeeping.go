package scheduler

import (
	"context"
	"log/slog"
	"os"
	"time"

	"herald/store"
)

// staleDraft is how long an upload may wait for its column mapping.
const staleDraft = 24 * time.Hour

// Retention of what sending leaves behind: usage counters matter for a day
// at most; a transactional message's attachments are kept for 30 days
// after it settles.
const (
	keepUsage        = 48 * time.Hour
	keepAttachments  = 30 * 24 * time.Hour
	keepFeedbackSeen = 30 * 24 * time.Hour
	keepWebhookLog   = 30 * 24 * time.Hour
)

// AttributeIndexes is the job that keeps an index on each attribute saved
// segments compare, and drops those no segment uses, so a segment on an
// attribute counts a million contacts from an index a minute after it is
// saved.
func AttributeIndexes(st *store.Store, log *slog.Logger) Job {
	return Job{
		Name: "index segment attributes",
		Spec: "@every 1m",
		Run: func(ctx context.Context) error {
			created, dropped, err := st.AttributeIndexes(ctx)
			if len(created)+len(dropped) > 0 {
				log.Info("attribute indexes", "created", created, "dropped", dropped)
			}
			return err
		},
	}
}

// Housekeeping removes expired sessions and lapsed login throttles, the
// files of uploads whose import was never started, old usage counters, the
// attachments of transactional messages settled 30 days ago, webhook
// deliveries settled 30 days ago, and the provider notifications taken 30
// days ago (kept to count each once).
func Housekeeping(st *store.Store, log *slog.Logger) Job {
	return Job{
		Name: "housekeeping",
		Spec: "@every 10m",
		Run: func(ctx context.Context) error {
			n, err := st.DeleteExpired(ctx)
			if err != nil {
				return err
			}

			if n > 0 {
				log.Info("housekeeping", "expired_rows_deleted", n)
			}
			paths, err := st.CancelStaleDrafts(ctx, staleDraft)
			for _, p := range paths {
				os.Remove(p)
			}
			if len(paths) > 0 {
				log.Info("housekeeping", "abandoned_uploads_removed", len(paths))
			}
			if err != nil {
				return err
			}
			if err := st.PruneUsage(ctx, st.Now().Add(-keepUsage)); err != nil {
				return err
			}
			if err := st.PruneFeedbackSeen(ctx, st.Now().Add(-keepFeedbackSeen)); err != nil {
				return err
			}
			if n, err := st.PruneWebhookLog(ctx, st.Now().Add(-keepWebhookLog)); err != nil {
				return err
			} else if n > 0 {
				log.Info("housekeeping", "old_webhook_deliveries_removed", n)
			}
			if n, err := st.PruneAttachments(ctx, st.Now().Add(-keepAttachments)); err != nil {
				return err
			} else if n > 0 {
				log.Info("housekeeping", "old_attachments_removed", n)
			}
			return nil
		},
	}
}
