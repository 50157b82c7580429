package web

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v5"

	"herald/store"
	"herald/templates"
)

func (s *Server) dashboard(c *echo.Context) error {
	ctx := c.Request().Context()
	relays, err := s.store.Relays(ctx)
	if err != nil {
		return err
	}
	keys, err := s.store.APIKeys(ctx)
	if err != nil {
		return err
	}
	live := 0
	for _, k := range keys {
		if !k.Revoked() {
			live++
		}
	}
	contacts, err := s.store.CountContacts(ctx, store.ContactFilter{})
	if err != nil {
		return err
	}
	active, err := s.store.CountContacts(ctx, store.ContactFilter{Status: store.StatusActive})
	if err != nil {
		return err
	}
	lists, err := s.store.ListNames(ctx)
	if err != nil {
		return err
	}
	g := s.general()
	p := templates.DashboardProps{
		Contacts: contacts, Active: active, Lists: len(lists),
		Shell:       s.shell(c, "dashboard", "Dashboard"),
		GeneralDone: g.OrgName != "" && g.PostalAddress != "",
		Relays:      len(relays),
		APIKeys:     live,
	}
	for _, r := range relays {
		if t := r.Trouble(); t != "" && r.Enabled {
			p.Attention = append(p.Attention, templates.Option{Label: t, Value: "/settings/relays/" + itoa(r.ID)})
		}
	}
	if err := s.sendingActivity(ctx, &p); err != nil {
		return err
	}
	if err := s.sendingResults(ctx, &p); err != nil {
		return err
	}
	return s.render(c, http.StatusOK, templates.DashboardPage(p))
}

// sendingActivity fills the dashboard's sending card: campaigns that need
// the owner (paused themselves, or held by a relay's cap), those sending,
// and what has gone out.
func (s *Server) sendingActivity(ctx context.Context, p *templates.DashboardProps) error {
	paused, err := s.store.Campaigns(ctx, store.CampaignPaused)
	if err != nil {
		return err
	}
	sending, err := s.store.Campaigns(ctx, store.CampaignSending)
	if err != nil {
		return err
	}
	missed, err := s.store.MissedSchedules(ctx)
	if err != nil {
		return err
	}
	for _, x := range append(paused, missed...) {
		if x.PausedReason != "" {
			p.Attention = append(p.Attention, templates.Option{Label: x.PausedReason, Value: "/campaigns/" + itoa(x.ID)})
		}
	}
	for _, x := range sending {
		if x.HeldReason != "" {
			p.Attention = append(p.Attention, templates.Option{Label: x.Name + " is waiting: " + x.HeldReason, Value: "/campaigns/" + itoa(x.ID)})
		}
		p.Sending = append(p.Sending, templates.CampaignRow{ID: x.ID, Name: x.Name, Recipients: x.Recipients})
	}
	if _, p.CampaignsSent, err = s.store.CampaignsPage(ctx, store.CampaignFilter{Status: store.CampaignSent, Order: store.Newest}, 0, 0); err != nil {
		return err
	}
	_, p.MessagesSent, err = s.store.Messages(ctx, store.MessageFilter{Status: store.MessageSent}, 1, 0)
	return err
}

// defaultMinFreeDisk is the free space /healthz asks of the data
// directory's disk: below 100 MB the database and imports are close to
// failing with a full disk, and the operator should hear of it first.
const defaultMinFreeDisk = 100 << 20
