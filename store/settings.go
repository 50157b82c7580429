package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"herald/mailer/addr"
)

// queryer is a pool or a transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) setting(ctx context.Context, q queryer, key string) (string, error) {
	var v string
	err := q.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("store: setting %s: %w", key, err)
	}
	return v, nil
}

func putSetting(ctx context.Context, tx *sql.Tx, key, value string) error {
	_, err := tx.ExecContext(ctx,
		`INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
		key, value)
	if err != nil {
		return fmt.Errorf("store: save setting %s: %w", key, err)
	}
	return nil
}

// General holds the organisation-wide settings from Settings → General.
type General struct {
	OrgName       string `json:"org_name"`
	PostalAddress string `json:"postal_address"`
	BaseURL       string `json:"base_url"`
	FromName      string `json:"from_name"`
	FromEmail     string `json:"from_email"`
	Timezone      string `json:"timezone"`
	// FirstRetrySeconds is how long a message waits after a temporary
	// failure before its first retry; later retries double it.
	FirstRetrySeconds int `json:"first_retry_seconds"`
	// A sending campaign pauses itself when, after MinSendsForPause
	// messages, its hard bounces pass BouncePausePercent of them or its
	// complaints ComplaintPausePercent.
	BouncePausePercent    float64 `json:"bounce_pause_percent"`
	ComplaintPausePercent float64 `json:"complaint_pause_percent"`
	// DomainLimits cap the messages an hour to some recipient domains.
	DomainLimits []DomainLimit `json:"domain_limits"`
	// Tracking for the whole install: opens or clicks can be switched off
	// for every campaign, and privacy mode keeps counts per campaign and
	// link with no record of who opened or clicked.
	NoOpenTracking  bool `json:"no_open_tracking"`
	NoClickTracking bool `json:"no_click_tracking"`
	TrackingPrivacy bool `json:"tracking_privacy"`
	// SoftBounceLimit soft bounces in a row make a contact bounced.
	SoftBounceLimit int `json:"soft_bounce_limit"`
	// BounceDomain turns on inbound bounce handling: the domain whose MX
	// points at Herald's SMTP listener. Campaign messages then go with the
	// return path bounces+<token>@BounceDomain and a List-Unsubscribe mailto
	// of unsubscribe+<token>@BounceDomain; "" leaves both on the From address.
	BounceDomain string `json:"bounce_domain,omitempty"`
	// APILimits are each API key's requests a second, by class, unless the
	// key has its own.
	APILimits RateLimits `json:"api_limits"`
	// AllowedHosts are hosts on a private network that webhooks may reach
	// all the same: names or addresses, as written in the URL.
	AllowedHosts []string `json:"allowed_hosts"`
}

// maxAllowedHosts is how many hosts the owner may allow.
const maxAllowedHosts = 50

// AllowsHost reports whether the owner allows webhooks to reach host
// though it is not on the public internet.
func (g General) AllowsHost(host string) bool {
	host = strings.ToLower(strings.Trim(host, "[]"))
	return slices.Contains(g.AllowedHosts, host)
}

// DomainLimit caps the messages sent to one recipient domain in an hour.
type DomainLimit struct {
	Domain  string `json:"domain"`
	PerHour int    `json:"per_hour"`
}

// Defaults of the sending safety settings.
const (
	DefaultBouncePausePercent    = 5
	DefaultComplaintPausePercent = 0.1
	// MinSendsForPause is how many messages a campaign sends before its
	// bounce and complaint rates can pause it.
	MinSendsForPause = 500
)

// DefaultFirstRetry is the first retry delay when none is set.
const DefaultFirstRetry = 30

// Location is the organisation's timezone, in which people give and read
// times; UTC when none is set.
func (g General) Location() *time.Location {
	if loc, ok := locations.Load(g.Timezone); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(g.Timezone)
	if err != nil {
		return time.UTC
	}
	locations.Store(g.Timezone, loc)
	return loc
}

// locations holds the zones Location has loaded, by name: LoadLocation
// reads the zone file on every call, and pages and reports ask often.
var locations sync.Map

// FirstRetry is the delay before the first retry of a temporary failure.
func (g General) FirstRetry() time.Duration {
	if g.FirstRetrySeconds <= 0 {
		return DefaultFirstRetry * time.Second
	}
	return time.Duration(g.FirstRetrySeconds) * time.Second
}

// Normalize gives unset API limits their default, trims every field and drops a trailing slash from the base URL,
// whose host it writes as DNS does: lower case, an international name in
// its xn-- form.
func (g *General) Normalize() {
	g.APILimits = g.APILimits.Or(DefaultRateLimits)
	g.OrgName = strings.TrimSpace(g.OrgName)
	g.PostalAddress = strings.TrimSpace(g.PostalAddress)
	g.BaseURL = strings.TrimRight(strings.TrimSpace(g.BaseURL), "/")
	if u, err := url.Parse(g.BaseURL); err == nil && u.Host != "" {
		u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
		if d, err := addr.Domain(u.Hostname()); err == nil {
			u.Host = strings.Replace(u.Host, u.Hostname(), d, 1)
		}
		g.BaseURL = strings.TrimRight(u.String(), "/")
	}
	g.FromName = strings.TrimSpace(g.FromName)
	g.FromEmail = NormalizeEmail(g.FromEmail)
	if g.FirstRetrySeconds == 0 {
		g.FirstRetrySeconds = DefaultFirstRetry
	}
	if g.BouncePausePercent == 0 {
		g.BouncePausePercent = DefaultBouncePausePercent
	}
	if g.ComplaintPausePercent == 0 {
		g.ComplaintPausePercent = DefaultComplaintPausePercent
	}
	if g.SoftBounceLimit == 0 {
		g.SoftBounceLimit = DefaultSoftBounceLimit
	}
	for i := range g.DomainLimits {
		g.DomainLimits[i].Domain = normalizeDomain(g.DomainLimits[i].Domain)
	}
	if g.BounceDomain = strings.TrimSpace(g.BounceDomain); g.BounceDomain != "" {
		g.BounceDomain = normalizeDomain(g.BounceDomain)
	}
	var hosts []string
	for _, h := range g.AllowedHosts {
		if h = strings.ToLower(strings.Trim(strings.TrimSpace(h), "[]")); h != "" && !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	g.AllowedHosts = hosts
	g.Timezone = strings.TrimSpace(g.Timezone)
	if g.Timezone == "" {
		g.Timezone = "UTC"
	}
}

// Validate reports what is wrong with g, keyed by field name.
func (g General) Validate() map[string]string {
	errs := map[string]string{}
	for field, msg := range map[string]string{"org_name": CheckLine(g.OrgName, 200), "from_name": CheckLine(g.FromName, 200),
		"postal_address": CheckText(g.PostalAddress, 500)} {
		if msg != "" {
			errs[field] = msg
		}
	}
	if g.BaseURL != "" {
		if msg := checkBaseURL(g.BaseURL); msg != "" {
			errs["base_url"] = msg
		}
	}
	if g.FromEmail != "" {
		if msg := CheckEmail(g.FromEmail); msg != "" {
			errs["from_email"] = msg
		}
	}
	if g.FirstRetrySeconds != 0 && (g.FirstRetrySeconds < 5 || g.FirstRetrySeconds > 3600) {
		errs["first_retry_seconds"] = "Choose between 5 and 3600 seconds; 30 suits most relays."
	}
	if _, err := time.LoadLocation(g.Timezone); err != nil || g.Timezone == "Local" {
		errs["timezone"] = "Choose a timezone from the list, like Europe/London."
	}
	if math.IsNaN(g.BouncePausePercent) || g.BouncePausePercent < 0 || g.BouncePausePercent > 100 {
		errs["bounce_pause_percent"] = "Give a percentage from 0.1 to 100; 5 is usual, 100 turns the check off."
	}
	if math.IsNaN(g.ComplaintPausePercent) || g.ComplaintPausePercent < 0 || g.ComplaintPausePercent > 100 {
		errs["complaint_pause_percent"] = "Give a percentage from 0.01 to 100; 0.1 is what Gmail and Yahoo ask for, 100 turns the check off."
	}
	if g.SoftBounceLimit != 0 && (g.SoftBounceLimit < 1 || g.SoftBounceLimit > 100) {
		errs["soft_bounce_limit"] = "Choose from 1 to 100 soft bounces in a row; 3 is usual."
	}
	if msg := checkDomainLimits(g.DomainLimits); msg != "" {
		errs["domain_limits"] = msg
	}
	if g.BounceDomain != "" {
		if msg := checkDomain(g.BounceDomain); msg != "" {
			errs["bounce_domain"] = msg
		}
	}
	g.APILimits.validate("api_limits.", false, errs)
	if len(g.AllowedHosts) > maxAllowedHosts {
		errs["allowed_hosts"] = fmt.Sprintf("Allow at most %d hosts.", maxAllowedHosts)
	}
	for _, h := range g.AllowedHosts {
		if _, err := netip.ParseAddr(h); err != nil && checkDomain(h) != "" && h != "localhost" {
			errs["allowed_hosts"] = fmt.Sprintf("%q is not a host name or an IP address.", h)
		}
	}
	return errs
}

// checkBaseURL returns what is wrong with s as the address every link in
// every email starts with, or "": http or https, a host that is a domain,
// an IP address or localhost (for trying Herald out), an optional port and
// path, and nothing a link must not carry to every reader: no user name or
// password, no query, no fragment.
func checkBaseURL(s string) string {
	const enter = "Enter the address people use to reach Herald, like https://mail.example.com."
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return enter
	}
	switch {
	case u.User != nil:
		return "Leave out the user name and password (the part before @): every link in every email would carry them. " + enter
	case u.RawQuery != "" || u.ForceQuery:
		return "Leave out the query (the part from ?). " + enter
	case u.Fragment != "":
		return "Leave out the fragment (the part from #). " + enter
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "Use a port from 1 to 65535, like https://mail.example.com:8443, or none."
		}
	}
	host := u.Hostname()
	if host == "localhost" || net.ParseIP(host) != nil {
		return ""
	}
	if _, err := addr.Domain(host); err != nil {
		return "The host is not one Herald can put in links. " + err.Error()
	}
	return ""
}

func checkDomainLimits(limits []DomainLimit) string {
	if len(limits) > 100 {
		return "Give at most 100 domain limits."
	}
	seen := map[string]bool{}
	for _, l := range limits {
		if msg := checkDomain(l.Domain); msg != "" {
			return fmt.Sprintf("%q is not a domain. %s", l.Domain, msg)
		}
		switch {
		case l.PerHour < 1:
			return fmt.Sprintf("Give %s a limit of at least 1 message an hour.", l.Domain)
		case seen[l.Domain]:
			return fmt.Sprintf("%s is listed twice.", l.Domain)
		}
		seen[l.Domain] = true
	}
	return ""
}

// DomainLimit returns the hourly cap on messages to a domain, or 0.
func (g General) DomainLimit(domain string) int {
	for _, l := range g.DomainLimits {
		if l.Domain == domain {
			return l.PerHour
		}
	}
	return 0
}

// Secure reports whether the public base URL is https, so cookies must be Secure.
func (g General) Secure() bool { return strings.HasPrefix(g.BaseURL, "https://") }

const generalKey = "general"

// General returns the general settings, with defaults when none are saved yet.
func (s *Store) General(ctx context.Context) (General, error) {
	g := General{Timezone: "UTC", FirstRetrySeconds: DefaultFirstRetry, BouncePausePercent: DefaultBouncePausePercent,
		ComplaintPausePercent: DefaultComplaintPausePercent, SoftBounceLimit: DefaultSoftBounceLimit, APILimits: DefaultRateLimits}
	v, err := s.setting(ctx, s.r, generalKey)
	if errors.Is(err, ErrNotFound) {
		return g, nil
	}
	if err != nil {
		return g, err
	}
	if err := json.Unmarshal([]byte(v), &g); err != nil {
		return g, fmt.Errorf("store: general settings: %w", err)
	}
	return g, nil
}

// SaveGeneral validates and stores the general settings.
func (s *Store) SaveGeneral(ctx context.Context, g General) (General, error) {
	g.Normalize()
	if errs := g.Validate(); len(errs) > 0 {
		return g, &ValidationError{Fields: errs}
	}
	b, err := json.Marshal(g)
	if err != nil {
		return g, err
	}
	return g, s.Tx(ctx, func(tx *sql.Tx) error { return putSetting(ctx, tx, generalKey, string(b)) })
}

// ConfirmEmail is the editable email that asks a new subscriber of a double
// opt-in list to confirm. Subject and Text are Go text templates.
type ConfirmEmail struct {
	Subject string `json:"subject"`
	Text    string `json:"text"`
}

// DefaultConfirmEmail is the confirmation email Herald ships with.
var DefaultConfirmEmail = ConfirmEmail{
	Subject: "Confirm your subscription to {{.ListName}}",
	Text: `Hello{{if .FirstName}} {{.FirstName}}{{end}},

Please confirm that you want to receive {{.ListName}}{{if .Org}} from {{.Org}}{{end}} by opening this link:

{{.ConfirmURL}}

If you did not ask for this, ignore this email and you will not hear from us again.
`,
}

const confirmEmailKey = "confirm_email"

// ConfirmEmail returns the confirmation email, or the default one.
func (s *Store) ConfirmEmail(ctx context.Context) (ConfirmEmail, error) {
	v, err := s.setting(ctx, s.r, confirmEmailKey)
	if errors.Is(err, ErrNotFound) {
		return DefaultConfirmEmail, nil
	}
	if err != nil {
		return ConfirmEmail{}, err
	}
	var e ConfirmEmail
	if err := json.Unmarshal([]byte(v), &e); err != nil {
		return ConfirmEmail{}, fmt.Errorf("store: confirm email: %w", err)
	}
	return e, nil
}

// Validate reports what is wrong with e's subject, keyed by field name;
// whether its templates render is for the caller to check.
func (e ConfirmEmail) Validate() map[string]string {
	errs := map[string]string{}
	if strings.TrimSpace(e.Subject) == "" {
		errs["subject"] = "Enter a subject."
	} else if msg := CheckLine(e.Subject, 998); msg != "" {
		errs["subject"] = msg
	}
	return errs
}

// SaveConfirmEmail validates and stores the confirmation email; check lets
// the caller refuse templates that do not render.
func (s *Store) SaveConfirmEmail(ctx context.Context, e ConfirmEmail, check func(ConfirmEmail) map[string]string) error {
	errs := e.Validate()
	for field, msg := range check(e) {
		if errs[field] == "" {
			errs[field] = msg
		}
	}
	if len(errs) > 0 {
		return &ValidationError{Fields: errs}
	}
	b, _ := json.Marshal(e)
	return s.Tx(ctx, func(tx *sql.Tx) error { return putSetting(ctx, tx, confirmEmailKey, string(b)) })
}
