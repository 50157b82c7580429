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

// Housekeeping removes expired sessions and lapsed login throttles, and the
// files of uploads whose import was never started.
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
			return err
		},
	}
}
