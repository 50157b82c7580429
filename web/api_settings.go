package web

import (
	"net/http"

	"github.com/labstack/echo/v5"

	"herald/store"
)

// generalPatch is a settings request body; absent fields keep their value.
type generalPatch struct {
	OrgName       *string `json:"org_name"`
	PostalAddress *string `json:"postal_address"`
	BaseURL       *string `json:"base_url"`
	FromName      *string `json:"from_name"`
	FromEmail     *string `json:"from_email"`
	Timezone      *string `json:"timezone"`
	// FirstRetrySeconds is the delay before the first retry of a temporary failure.
	FirstRetrySeconds *int `json:"first_retry_seconds"`
	// A campaign pauses itself past these rates of hard bounces and
	// complaints, after store.MinSendsForPause messages.
	BouncePausePercent    *float64 `json:"bounce_pause_percent"`
	ComplaintPausePercent *float64 `json:"complaint_pause_percent"`
	// DomainLimits cap messages an hour to some recipient domains.
	DomainLimits *[]store.DomainLimit `json:"domain_limits"`
	// Tracking for every campaign, and when soft bounces make a contact bounced.
	NoOpenTracking  *bool `json:"no_open_tracking"`
	NoClickTracking *bool `json:"no_click_tracking"`
	TrackingPrivacy *bool `json:"tracking_privacy"`
	SoftBounceLimit *int  `json:"soft_bounce_limit"`
	// APILimits are each key's requests a second, by class; 0 keeps a
	// class's default.
	APILimits *store.RateLimits `json:"api_limits"`
	// AllowedHosts are private hosts webhooks may reach all the same.
	AllowedHosts *[]string `json:"allowed_hosts"`
}

func (s *Server) apiSettingsGet(c *echo.Context) error {
	g, err := s.store.General(c.Request().Context())
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, generalOut(g))
}

func (s *Server) apiSettingsUpdate(c *echo.Context) error {
	var p generalPatch
	if err := bindJSON(c, &p); err != nil {
		return err
	}
	g, err := s.store.General(c.Request().Context())
	if err != nil {
		return err
	}
	for dst, v := range map[*string]*string{&g.OrgName: p.OrgName, &g.PostalAddress: p.PostalAddress, &g.BaseURL: p.BaseURL,
		&g.FromName: p.FromName, &g.FromEmail: p.FromEmail, &g.Timezone: p.Timezone} {
		set(dst, v)
	}
	set(&g.FirstRetrySeconds, p.FirstRetrySeconds)
	set(&g.BouncePausePercent, p.BouncePausePercent)
	set(&g.ComplaintPausePercent, p.ComplaintPausePercent)
	set(&g.DomainLimits, p.DomainLimits)
	for dst, v := range map[*bool]*bool{&g.NoOpenTracking: p.NoOpenTracking, &g.NoClickTracking: p.NoClickTracking, &g.TrackingPrivacy: p.TrackingPrivacy} {
		set(dst, v)
	}
	set(&g.SoftBounceLimit, p.SoftBounceLimit)
	set(&g.APILimits, p.APILimits)
	set(&g.AllowedHosts, p.AllowedHosts)
	g, err = s.store.SaveGeneral(c.Request().Context(), g)
	if err != nil {
		return err
	}
	s.generalCache.Store(&g)
	return apiData(c, http.StatusOK, generalOut(g))
}

// confirmEmailJSON is the email that asks a double opt-in subscriber to
// confirm: Go text templates.
type confirmEmailJSON struct {
	Subject string `json:"subject"`
	Text    string `json:"text"`
}

func (s *Server) apiConfirmEmailGet(c *echo.Context) error {
	e, err := s.store.ConfirmEmail(c.Request().Context())
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, confirmEmailJSON(e))
}

// apiConfirmEmailUpdate replaces the confirmation email; an empty body
// field keeps nothing, so send both.
func (s *Server) apiConfirmEmailUpdate(c *echo.Context) error {
	var b confirmEmailJSON
	if err := bindJSON(c, &b); err != nil {
		return err
	}
	if err := s.store.SaveConfirmEmail(c.Request().Context(), store.ConfirmEmail(b), checkConfirmEmail); err != nil {
		return err
	}
	return apiData(c, http.StatusOK, b)
}

// generalOut is g as the API shows it: a list is [] when empty, never null.
func generalOut(g store.General) store.General {
	g.DomainLimits, g.AllowedHosts = orEmpty(g.DomainLimits), orEmpty(g.AllowedHosts)
	return g
}
