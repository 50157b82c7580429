package scheduler

import (
	"context"
	"log/slog"

	"herald/store"
)

// Housekeeping removes expired sessions and lapsed login throttles.
func Housekeeping(st *store.Store, log *slog.Logger) Job {
	return Job{
		Name: "housekeeping",
		Spec: "@every 10m",
		Run: func(ctx context.Context) error {
			n, err := st.DeleteExpired(ctx)
			if err == nil && n > 0 {
				log.Info("housekeeping", "expired_rows_deleted", n)
			}
			return err
		},
	}
}
