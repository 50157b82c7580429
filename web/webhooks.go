package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"herald/store"
	"herald/templates"
)

// webhooksPerPage is how many deliveries an endpoint's page shows.
const webhooksPerPage = 50

func (s *Server) webhooksPage(c *echo.Context, status int, p templates.WebhooksProps) error {
	ctx := c.Request().Context()
	ws, err := s.store.Webhooks(ctx)
	if err != nil {
		return err
	}
	counts, err := s.store.WebhookDeliveryCounts(ctx)
	if err != nil {
		return err
	}
	for _, w := range ws {
		n := counts[w.ID]
		p.Webhooks = append(p.Webhooks, templates.WebhookRow{ID: w.ID, URL: w.URL, Description: w.Description, Events: strings.Join(w.Events, ", "),
			Enabled: w.Enabled, FailingSince: w.FailingSince, DisabledReason: w.DisabledReason, Pending: n.Pending, Failed: n.Failed, CreatedAt: w.CreatedAt})
	}
	p.EventTypes = store.EventTypes
	if p.AllowedHosts == "" && p.Errors["allowed_hosts"] == "" {
		p.AllowedHosts = strings.Join(s.general().AllowedHosts, "\n")
	}
	p.Shell = s.shell(c, "settings", "Webhooks")
	c.Response().Header().Set("Cache-Control", "no-store")
	return s.render(c, status, templates.WebhooksPage(p))
}

func (s *Server) webhookList(c *echo.Context) error {
	return s.webhooksPage(c, http.StatusOK, templates.WebhooksProps{Form: templates.WebhookForm{Events: []string{store.EventContactCreated}}})
}

// webhookFormInput reads an endpoint's form.
func webhookFormInput(c *echo.Context, editing bool) (store.WebhookInput, templates.WebhookForm, error) {
	form, err := formValues(c)
	if err != nil {
		return store.WebhookInput{}, templates.WebhookForm{}, err
	}
	f := templates.WebhookForm{URL: form.Get("url"), Description: form.Get("description"), Events: form["events"], Enabled: form.Get("enabled") == "1"}
	in := store.WebhookInput{URL: &f.URL, Description: &f.Description, Events: &f.Events}
	if editing {
		in.Enabled = &f.Enabled
	}
	return in, f, nil
}

// webhookCreate adds an endpoint and shows its secret on the answer itself.
func (s *Server) webhookCreate(c *echo.Context) error {
	in, f, err := webhookFormInput(c, false)
	if err != nil {
		return err
	}
	w, secret, err := s.store.CreateWebhook(c.Request().Context(), in, s.checkHookURL)
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return s.webhooksPage(c, http.StatusUnprocessableEntity, templates.WebhooksProps{Form: f, Errors: ve.Fields})
	}
	if err != nil {
		return err
	}
	s.log.Info("webhook endpoint added", "id", w.ID, "url", w.URL)
	return s.webhooksPage(c, http.StatusCreated, templates.WebhooksProps{NewSecret: secret, NewURL: w.URL,
		Form: templates.WebhookForm{Events: []string{store.EventContactCreated}}})
}

// webhookAllowedHosts saves the private hosts webhooks may reach.
func (s *Server) webhookAllowedHosts(c *echo.Context) error {
	g, err := s.store.General(c.Request().Context())
	if err != nil {
		return err
	}
	raw := c.FormValue("allowed_hosts")
	g.AllowedHosts = strings.Fields(raw)
	g, err = s.store.SaveGeneral(c.Request().Context(), g)
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return s.webhooksPage(c, http.StatusUnprocessableEntity, templates.WebhooksProps{AllowedHosts: raw, Errors: ve.Fields,
			Form: templates.WebhookForm{Events: []string{store.EventContactCreated}}})
	}
	if err != nil {
		return err
	}
	s.generalCache.Store(&g)
	s.flash(c, "success", "Allowed hosts saved.")
	return redirect(c, "/settings/webhooks")
}

func (s *Server) webhookPage(c *echo.Context, status int, w store.Webhook, f templates.WebhookForm, errs templates.FieldErrors) error {
	ctx := c.Request().Context()
	secret, err := s.store.WebhookSecret(ctx, w.ID)
	if err != nil {
		return err
	}
	pageNo, err := pageNumber(c)
	if err != nil {
		return err
	}
	st := c.QueryParam("status")
	if st != "" && st != store.DeliveryPending && st != store.DeliveryDelivered && st != store.DeliveryFailed {
		st = ""
	}
	ds, total, err := s.store.Deliveries(ctx, w.ID, store.DeliveryFilter{Status: st, Order: store.Newest}, webhooksPerPage, (pageNo-1)*webhooksPerPage)
	if err != nil {
		return err
	}
	p := templates.WebhookProps{ID: w.ID, Form: f, Errors: errs, EventTypes: store.EventTypes, Secret: secret, OldSecretUntil: w.OldSecretUntil,
		FailingSince: w.FailingSince, DisabledReason: w.DisabledReason, Status: st, Page: pageNo, Pages: pageCount(total, webhooksPerPage), Total: total}
	if p.OldSecretUntil.Before(s.store.Now()) {
		p.OldSecretUntil = time.Time{} // the old secret no longer signs
	}
	for _, d := range ds {
		p.Deliveries = append(p.Deliveries, deliveryRow(d))
	}
	p.Shell = s.shell(c, "settings", "Webhook")
	c.Response().Header().Set("Cache-Control", "no-store")
	return s.render(c, status, templates.WebhookPage(p))
}

func deliveryRow(d store.Delivery) templates.DeliveryRow {
	return templates.DeliveryRow{ID: d.ID, EventID: d.EventUID, EventType: d.EventType, Status: d.Status, Attempts: d.Attempts, LastCode: d.LastCode,
		LastError: d.LastError, NextAttemptAt: d.NextAttemptAt, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
}

// pathWebhook reads the endpoint the path names.
func (s *Server) pathWebhook(c *echo.Context) (store.Webhook, error) {
	id, err := pathID(c)
	if err != nil {
		return store.Webhook{}, err
	}
	return s.store.Webhook(c.Request().Context(), id)
}

func (s *Server) webhookShow(c *echo.Context) error {
	w, err := s.pathWebhook(c)
	if err != nil {
		return err
	}
	return s.webhookPage(c, http.StatusOK, w, templates.WebhookForm{URL: w.URL, Description: w.Description, Events: w.Events, Enabled: w.Enabled}, nil)
}

func (s *Server) webhookUpdate(c *echo.Context) error {
	w, err := s.pathWebhook(c)
	if err != nil {
		return err
	}
	in, f, err := webhookFormInput(c, true)
	if err != nil {
		return err
	}
	_, err = s.store.UpdateWebhook(c.Request().Context(), w.ID, in, s.checkHookURL)
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return s.webhookPage(c, http.StatusUnprocessableEntity, w, f, ve.Fields)
	}
	if err != nil {
		return err
	}
	s.flash(c, "success", "Endpoint saved.")
	return redirect(c, webhookPathOf(w.ID))
}

func webhookPathOf(id int64) string { return "/settings/webhooks/" + itoa(id) }

func (s *Server) webhookDelete(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := s.store.DeleteWebhook(c.Request().Context(), id); err != nil {
		return err
	}
	s.flash(c, "success", "Endpoint deleted.")
	return redirect(c, "/settings/webhooks")
}

func (s *Server) webhookRoll(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if _, err := s.store.RollWebhookSecret(c.Request().Context(), id); err != nil {
		return err
	}
	s.flash(c, "success", "New secret made. The old one keeps signing for 24 hours: change it where you check signatures.")
	return redirect(c, webhookPathOf(id))
}

func (s *Server) webhookTest(c *echo.Context) error {
	id, d, err := s.sendTestEvent(c)
	if err != nil {
		return err
	}
	s.flash(c, "success", "Test event queued: its delivery shows here in a moment.")
	return redirect(c, "/settings/webhooks/"+itoa(id)+"/deliveries/"+itoa(d))
}

func (s *Server) deliveryShow(c *echo.Context) error {
	id, d, err := webhookDelivery(c)
	if err != nil {
		return err
	}
	del, attempts, err := s.store.Delivery(c.Request().Context(), id, d)
	if err != nil {
		return err
	}
	p := templates.DeliveryProps{WebhookID: id, URL: del.URL, Delivery: deliveryRow(del), Payload: indentJSON(del.Payload)}
	for _, a := range attempts {
		p.Attempts = append(p.Attempts, templates.AttemptRow{At: a.At, Request: a.Request, Response: a.Response, StatusCode: a.StatusCode, Error: a.Error, Latency: a.Latency})
	}
	p.Shell = s.shell(c, "settings", "Delivery")
	return s.render(c, http.StatusOK, templates.DeliveryPage(p))
}

func (s *Server) deliveryRedeliver(c *echo.Context) error {
	id, d, err := s.redeliver(c)
	if err != nil {
		return err
	}
	s.flash(c, "success", "Queued to be sent again.")
	return redirect(c, "/settings/webhooks/"+itoa(id)+"/deliveries/"+itoa(d))
}

// indentJSON lays JSON out for reading; what is not JSON stays as it is.
func indentJSON(raw []byte) string {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return string(raw)
	}
	return b.String()
}
