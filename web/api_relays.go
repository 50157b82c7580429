package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v5"

	"herald/mailer"
	"herald/store"
)

// relayJSON is a relay as the API shows it; the password never leaves.
type relayJSON struct {
	ID             int64     `json:"id"`
	Name           string    `json:"name"`
	Kind           string    `json:"kind"`
	Host           string    `json:"host"`
	Port           int       `json:"port"`
	TLS            string    `json:"tls"`
	Username       string    `json:"username"`
	PasswordSet    bool      `json:"password_set"`
	MaxConnections int       `json:"max_connections"`
	RatePerSecond  float64   `json:"rate_per_second"`
	Enabled        bool      `json:"enabled"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

func toRelayJSON(r store.Relay) relayJSON {
	return relayJSON{ID: r.ID, Name: r.Name, Kind: r.Kind, Host: r.Host, Port: r.Port, TLS: r.TLS, Username: r.Username,
		PasswordSet: r.PasswordSet, MaxConnections: r.MaxConnections, RatePerSecond: r.RatePerSecond, Enabled: r.Enabled,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// relayPatch is a relay request body; absent fields keep their value (or take
// the default on create).
type relayPatch struct {
	Name           *string  `json:"name"`
	Kind           *string  `json:"kind"`
	Host           *string  `json:"host"`
	Port           *int     `json:"port"`
	TLS            *string  `json:"tls"`
	Username       *string  `json:"username"`
	Password       *string  `json:"password"`
	MaxConnections *int     `json:"max_connections"`
	RatePerSecond  *float64 `json:"rate_per_second"`
	Enabled        *bool    `json:"enabled"`
}

// apply overlays the fields present in p on in.
func (p relayPatch) apply(in *store.RelayInput) {
	set(&in.Name, p.Name)
	set(&in.Kind, p.Kind)
	set(&in.Host, p.Host)
	set(&in.Port, p.Port)
	set(&in.TLS, p.TLS)
	set(&in.Username, p.Username)
	set(&in.MaxConnections, p.MaxConnections)
	set(&in.RatePerSecond, p.RatePerSecond)
	set(&in.Enabled, p.Enabled)
	in.Password = p.Password
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func (s *Server) apiRelayList(c *echo.Context) error {
	m, err := page(c)
	if err != nil {
		return err
	}
	rs, err := s.store.Relays(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]relayJSON, 0, len(rs))
	for _, r := range paginate(rs, &m) {
		out = append(out, toRelayJSON(r))
	}
	return apiList(c, out, m)
}

func (s *Server) apiRelayGet(c *echo.Context) error {
	r, err := s.relayAt(c)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, toRelayJSON(r))
}

func (s *Server) apiRelayCreate(c *echo.Context) error {
	var p relayPatch
	if err := bindJSON(c, &p); err != nil {
		return err
	}
	in := store.RelayInput{Kind: "smtp", TLS: store.TLSStartTLS, Port: 587, MaxConnections: 4, Enabled: true}
	p.apply(&in)
	r, err := s.store.CreateRelay(c.Request().Context(), in)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/api/v1/relays/"+itoa(r.ID))
	return apiData(c, http.StatusCreated, toRelayJSON(r))
}

func (s *Server) apiRelayUpdate(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var p relayPatch
	if err := bindJSON(c, &p); err != nil {
		return err
	}
	old, err := s.store.Relay(c.Request().Context(), id)
	if err != nil {
		return err
	}
	in := old.InputOf()
	p.apply(&in)
	r, err := s.store.UpdateRelay(c.Request().Context(), id, in)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, toRelayJSON(r))
}

// testResultJSON reports a test send: delivered, or where and why it failed.
type testResultJSON struct {
	Delivered bool   `json:"delivered"`
	From      string `json:"from"`
	To        string `json:"to"`
	Reply     string `json:"reply,omitempty"`
	Stage     string `json:"stage,omitempty"`
	Code      int    `json:"code,omitempty"`
	Temporary bool   `json:"temporary,omitempty"`
	Error     string `json:"error,omitempty"`
}

// apiRelayTest answers 200 whenever the test ran, delivered or not: the
// relay's refusal is the result being asked for, not an API error.
func (s *Server) apiRelayTest(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var body struct {
		To string `json:"to"`
	}
	if err := bindJSON(c, &body); err != nil {
		return err
	}
	out, err := s.sendTest(c.Request().Context(), id, body.To)
	if err != nil {
		return err
	}
	res := testResultJSON{Delivered: out.Err == nil, From: out.From, To: out.To, Reply: out.Reply}
	var se *mailer.SendError
	if errors.As(out.Err, &se) {
		res.Stage, res.Code, res.Temporary = se.Stage, se.Code, se.Temporary
	}
	if out.Err != nil {
		res.Error = failureDetail(out.Err)
	}
	return apiData(c, http.StatusOK, res)
}
