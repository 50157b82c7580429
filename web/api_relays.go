package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v5"

	"herald/mailer"
	"herald/scheduler/outbound"
	"herald/store"
)

// relayJSON is a relay as the API shows it. Fields of the other kind are
// left out, and no password or secret ever leaves.
type relayJSON struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Kind string `json:"kind"`
	// SMTP only.
	Host        *string `json:"host,omitempty"`
	Port        *int    `json:"port,omitempty"`
	TLS         *string `json:"tls,omitempty"`
	Username    *string `json:"username,omitempty"`
	PasswordSet *bool   `json:"password_set,omitempty"`
	// SES only.
	Region           *string `json:"region,omitempty"`
	AccessKeyID      *string `json:"access_key_id,omitempty"`
	SecretSet        *bool   `json:"secret_set,omitempty"`
	ConfigurationSet *string `json:"configuration_set,omitempty"`
	Endpoint         *string `json:"endpoint,omitempty"`

	MaxConnections int        `json:"max_connections"`
	RatePerSecond  float64    `json:"rate_per_second"`
	DailyQuota     int        `json:"daily_quota"`
	SentToday      int        `json:"sent_today"`
	FailingSince   *time.Time `json:"failing_since"`
	FailingError   string     `json:"failing_error"`
	WarmupDays     int        `json:"warmup_days"`
	WarmupStart    int        `json:"warmup_start"`
	WarmupFrom     *time.Time `json:"warmup_from"`
	Enabled        bool       `json:"enabled"`
	// PricePer1000 is what the relay charges for 1,000 messages; 0 unknown.
	PricePer1000 float64   `json:"price_per_1000"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

func toRelayJSON(r store.Relay) relayJSON {
	out := relayJSON{ID: r.ID, Name: r.Name, Kind: r.Kind, MaxConnections: r.MaxConnections, RatePerSecond: r.RatePerSecond,
		DailyQuota: r.DailyQuota, SentToday: r.SentToday, FailingSince: optTime(r.FailingSince), FailingError: r.FailingError, WarmupDays: r.WarmupDays, WarmupStart: r.WarmupStart, WarmupFrom: optTime(r.WarmupFrom),
		Enabled: r.Enabled, PricePer1000: r.PricePer1000, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if r.Kind == store.RelaySES {
		out.Region, out.AccessKeyID, out.SecretSet = &r.Region, &r.Username, &r.PasswordSet
		out.ConfigurationSet, out.Endpoint = &r.ConfigurationSet, &r.Endpoint
	} else {
		out.Host, out.Port, out.TLS, out.Username, out.PasswordSet = &r.Host, &r.Port, &r.TLS, &r.Username, &r.PasswordSet
	}
	return out
}

// relayPatch is a relay request body; absent fields keep their value (or take
// the default on create), and a null or absent password or secret keeps the
// stored one.
type relayPatch struct {
	Name             *string         `json:"name"`
	Kind             *string         `json:"kind"`
	Host             *string         `json:"host"`
	Port             *int            `json:"port"`
	TLS              *string         `json:"tls"`
	Username         *string         `json:"username"`
	Password         *string         `json:"password"`
	Region           *string         `json:"region"`
	AccessKeyID      *string         `json:"access_key_id"`
	SecretAccessKey  *string         `json:"secret_access_key"`
	ConfigurationSet *string         `json:"configuration_set"`
	Endpoint         *string         `json:"endpoint"`
	MaxConnections   *int            `json:"max_connections"`
	RatePerSecond    *float64        `json:"rate_per_second"`
	DailyQuota       *int            `json:"daily_quota"`
	PricePer1000     *float64        `json:"price_per_1000"`
	WarmupDays       *int            `json:"warmup_days"`
	WarmupStart      *int            `json:"warmup_start"`
	Enabled          *bool           `json:"enabled"`
	WarmupFrom       json.RawMessage `json:"warmup_from"`
}

// newRelayInput is what a created relay starts from.
func newRelayInput() store.RelayInput {
	return store.RelayInput{Kind: store.RelaySMTP, TLS: store.TLSStartTLS, Port: 587, MaxConnections: 4, Enabled: true}
}

// input overlays p on old, the stored relay (zero on create), and returns
// what to store with what is wrong with it.
func (p relayPatch) input(old store.Relay) (store.RelayInput, map[string]string) {
	in := newRelayInput()
	if old.ID != 0 {
		in = old.InputOf()
	}
	set(&in.Kind, p.Kind)
	tidyRelay(&in)
	if old.ID != 0 && in.Kind != old.Kind {
		// A relay of another kind shares no server or credentials with the
		// old one.
		fresh := newRelayInput()
		in.Host, in.Port, in.TLS, in.Username, in.Password = fresh.Host, fresh.Port, fresh.TLS, "", new(string)
		in.Region, in.ConfigurationSet, in.Endpoint = "", "", ""
	}
	errs := p.misplaced(in.Kind)
	set(&in.Name, p.Name)
	set(&in.MaxConnections, p.MaxConnections)
	set(&in.RatePerSecond, p.RatePerSecond)
	set(&in.DailyQuota, p.DailyQuota)
	set(&in.PricePer1000, p.PricePer1000)
	set(&in.WarmupDays, p.WarmupDays)
	set(&in.WarmupStart, p.WarmupStart)
	set(&in.Enabled, p.Enabled)
	if in.Kind == store.RelaySES {
		set(&in.Region, p.Region)
		set(&in.Username, p.AccessKeyID)
		set(&in.ConfigurationSet, p.ConfigurationSet)
		set(&in.Endpoint, p.Endpoint)
		if p.SecretAccessKey != nil {
			in.Password = p.SecretAccessKey
		}
	} else {
		set(&in.Host, p.Host)
		set(&in.Port, p.Port)
		set(&in.TLS, p.TLS)
		set(&in.Username, p.Username)
		if p.Password != nil {
			in.Password = p.Password
		}
	}
	if len(p.WarmupFrom) > 0 && string(p.WarmupFrom) != "null" {
		errs["warmup_from"] = "warmup_from is read-only: warm-up counts from when warmup_days was set. To start it again, set warmup_days to 0, then back."
	}
	tidyRelay(&in)
	checkSESKeys(in, old, errs)
	addRelayErrors(in, errs)
	return in, errs
}

// misplaced names the fields of p that belong to the other kind of relay.
func (p relayPatch) misplaced(kind string) map[string]string {
	errs := map[string]string{}
	smtpOnly := map[string]bool{"host": p.Host != nil, "port": p.Port != nil, "tls": p.TLS != nil,
		"username": p.Username != nil, "password": p.Password != nil}
	sesOnly := map[string]bool{"region": p.Region != nil, "access_key_id": p.AccessKeyID != nil,
		"secret_access_key": p.SecretAccessKey != nil, "configuration_set": p.ConfigurationSet != nil, "endpoint": p.Endpoint != nil}
	switch kind {
	case store.RelaySES:
		for f, given := range smtpOnly {
			if given {
				errs[f] = "Only SMTP relays have \"" + f + "\". An SES relay takes region, access_key_id, secret_access_key, configuration_set and endpoint."
			}
		}
	case store.RelaySMTP:
		for f, given := range sesOnly {
			if given {
				errs[f] = "Only SES relays have \"" + f + `". Set "kind": "ses" for an Amazon SES relay.`
			}
		}
	}
	return errs
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func (s *Server) apiRelayList(c *echo.Context) error {
	q, err := readList(c, namedList, s.location())
	if err != nil {
		return err
	}
	rs, err := s.store.Relays(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]relayJSON, 0, len(rs))
	for _, r := range rs {
		out = append(out, toRelayJSON(r))
	}
	out, m := pageOf(out, q, func(r relayJSON) listed { return named(r.ID, r.CreatedAt, r.Name) })
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
	in, errs := p.input(store.Relay{})
	if len(errs) > 0 {
		return &store.ValidationError{Fields: errs}
	}
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
	in, errs := p.input(old)
	if len(errs) > 0 {
		return &store.ValidationError{Fields: errs}
	}
	r, err := s.store.UpdateRelay(c.Request().Context(), id, in)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, toRelayJSON(r))
}

// testResultJSON reports a test send: delivered, or where and why it failed;
// for SES, the account's quota too, or why it could not be read.
type testResultJSON struct {
	Delivered  bool       `json:"delivered"`
	From       string     `json:"from"`
	To         string     `json:"to"`
	Reply      string     `json:"reply,omitempty"`
	Stage      string     `json:"stage,omitempty"`
	Code       int        `json:"code,omitempty"`
	Temporary  bool       `json:"temporary,omitempty"`
	Error      string     `json:"error,omitempty"`
	Quota      *quotaJSON `json:"quota,omitempty"`
	QuotaError string     `json:"quota_error,omitempty"`
}

// quotaJSON is an SES account's sending allowance; max_24_hour is -1 when
// unlimited.
type quotaJSON struct {
	Max24Hour        float64 `json:"max_24_hour"`
	MaxPerSecond     float64 `json:"max_per_second"`
	SentLast24Hours  float64 `json:"sent_last_24_hours"`
	SendingEnabled   bool    `json:"sending_enabled"`
	ProductionAccess bool    `json:"production_access"`
}

// apiRelayTest answers 200 whenever the test ran, delivered or not: the
// relay's refusal is the result being asked for, not an API error.
func (s *Server) apiRelayTest(c *echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var body relayTestBody
	if err := bindJSON(c, &body); err != nil {
		return err
	}
	out, err := s.out.TestRelay(c.Request().Context(), id, body.To)
	if err != nil {
		return err
	}
	res := testResultJSON{Delivered: out.Err == nil, From: out.From, To: out.To, Reply: out.Reply}
	var se *mailer.SendError
	if errors.As(out.Err, &se) {
		res.Stage, res.Code, res.Temporary = se.Stage, se.Code, se.Temporary
	}
	if out.Err != nil {
		res.Error = outbound.FailureDetail(out.Err)
	}
	if q := out.Quota; q != nil {
		res.Quota = &quotaJSON{Max24Hour: q.Max24Hour, MaxPerSecond: q.MaxPerSecond, SentLast24Hours: q.SentLast24Hours,
			SendingEnabled: q.SendingEnabled, ProductionAccess: q.ProductionAccess}
	}
	if out.QuotaErr != nil {
		res.QuotaError = out.QuotaErr.Error()
	}
	return apiData(c, http.StatusOK, res)
}

// relayTestBody sends a test message through a relay.
type relayTestBody struct {
	To string `json:"to"`
}

// relayQuotaJSON is what a relay may still send.
type relayQuotaJSON struct {
	RelayID int64 `json:"relay_id"`
	// SES's own figures, for an SES relay: max_24_hour is -1 when unlimited.
	SES              bool    `json:"ses"`
	Max24Hour        float64 `json:"max_24_hour"`
	MaxPerSecond     float64 `json:"max_per_second"`
	SentLast24Hours  float64 `json:"sent_last_24_hours"`
	SendingEnabled   bool    `json:"sending_enabled"`
	ProductionAccess bool    `json:"production_access"`
	SESError         string  `json:"ses_error,omitempty"`
	// Herald's own: the daily limit set on the relay (0 none) and what
	// went through it this UTC day.
	DailyQuota int `json:"daily_quota"`
	SentToday  int `json:"sent_today"`
	// TodayCap is what the relay may send today, its warm-up included,
	// and cap_reason what sets it; 0 and "" without a limit.
	TodayCap  int    `json:"today_cap"`
	CapReason string `json:"cap_reason"`
	// Used is the largest share of an allowance spent, 0 to 1 (more when
	// over); level is ok, warning (80%) or critical (95%, or SES's sending
	// paused).
	Used  float64 `json:"used"`
	Level string  `json:"level"`
}

func (s *Server) relayQuota(c *echo.Context) (relayQuotaJSON, error) {
	id, err := pathID(c)
	if err != nil {
		return relayQuotaJSON{}, err
	}
	q, err := s.out.RelayQuota(c.Request().Context(), id)
	if err != nil {
		return relayQuotaJSON{}, err
	}
	return relayQuotaJSON{RelayID: q.Relay.ID, SES: q.SES, Max24Hour: q.Max24Hour, MaxPerSecond: q.MaxPerSecond, SentLast24Hours: q.SentLast24Hrs,
		SendingEnabled: q.SendingEnabled, ProductionAccess: q.ProductionAccess, SESError: q.SESError, DailyQuota: q.DailyQuota,
		SentToday: q.SentToday, TodayCap: q.TodayCap, CapReason: q.CapReason, Used: q.Used, Level: q.Level}, nil
}

// apiRelayQuota reads a relay's allowance without sending anything.
func (s *Server) apiRelayQuota(c *echo.Context) error {
	q, err := s.relayQuota(c)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, q)
}
