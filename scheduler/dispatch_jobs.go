package scheduler

import (
	"context"
	"errors"
	"fmt"

	"herald/store"
)

// Resume is run once at startup: it puts the sends a stopped process left
// in flight back in the queue and carries on with every sending campaign.
func (d *Dispatcher) Resume(ctx context.Context) error {
	n, err := d.Store.RequeueInFlight(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		d.Log.Info("sends left in flight by the last run requeued", "count", n)
	}
	return d.kickSending(ctx)
}

// kickSending runs every sending campaign that is not already running.
func (d *Dispatcher) kickSending(ctx context.Context) error {
	cs, err := d.Store.Campaigns(ctx, store.CampaignSending)
	for _, c := range cs {
		d.Kick(c.ID)
	}
	return err
}

// StartDue is the job that starts scheduled campaigns when their time
// comes, within its 5-second period.
func (d *Dispatcher) StartDue(ctx context.Context) Job {
	return Job{
		Name: "start scheduled campaigns",
		Spec: "@every 5s",
		Run: func(context.Context) error {
			cs, err := d.Store.DueCampaigns(ctx)
			if err != nil || d.Start == nil {
				return err
			}
			var errs []error
			for _, c := range cs {
				if err := d.Start(ctx, c.ID); err != nil {
					errs = append(errs, fmt.Errorf("campaign %d %q: %w", c.ID, c.Name, err))
					continue
				}
				d.Log.Info("scheduled campaign started", "campaign", c.ID)
				d.Kick(c.ID)
			}
			return errors.Join(errs...)
		},
	}
}

// Dispatch is the job that keeps sending campaigns moving: it puts sends
// whose lease ran out back in the queue, and runs every sending campaign
// that is not already running, which also picks up retries as they fall due.
func (d *Dispatcher) Dispatch(ctx context.Context) Job {
	d.mu.Lock()
	d.ctx = ctx
	d.mu.Unlock()
	return Job{
		Name: "dispatch",
		Spec: "@every 10s",
		Run: func(context.Context) error {
			if n, err := d.Store.RecoverLeases(ctx, d.runningIDs()); err != nil {
				return err
			} else if n > 0 {
				d.Log.Info("sends requeued after their lease ran out", "count", n)
			}
			return d.kickSending(ctx)
		},
	}
}
