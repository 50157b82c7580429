package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// TLS modes of an SMTP relay.
const (
	TLSNone     = "none"
	TLSStartTLS = "starttls"
	TLSImplicit = "tls"
)

// Kinds of relay.
const (
	RelaySMTP = "smtp"
	RelaySES  = "ses"
)

// Relay is a way out for Herald's mail: an SMTP server, or an Amazon SES
// account. For SES, Username holds the access key id and the sealed
// password the secret access key.
type Relay struct {
	ID               int64
	Name             string
	Kind             string
	Host             string
	Port             int
	TLS              string
	Username         string
	PasswordSet      bool
	Region           string
	ConfigurationSet string
	Endpoint         string
	// MaxConnections is how many messages go at once: SMTP connections, or
	// parallel SES requests.
	MaxConnections int
	RatePerSecond  float64
	// DailyQuota caps messages per UTC day; 0 is no cap.
	DailyQuota int
	// Warm-up: from WarmupFrom, a daily cap that starts at WarmupStart and
	// grows to DailyQuota (or doubles daily, without one) over WarmupDays.
	WarmupDays  int
	WarmupStart int
	WarmupFrom  time.Time
	// SentToday is how many messages went through the relay this UTC day,
	// campaigns and transactional mail together.
	SentToday int
	// PricePer1000 is what the relay charges for 1,000 messages; 0 when unknown.
	PricePer1000 float64
	// FailingSince is when the relay stopped answering, with the last
	// error it gave; zero while it answers.
	FailingSince time.Time
	FailingError string
	Enabled      bool
	// FeedbackToken names the relay in the URL its provider posts
	// notifications to, /hooks/ses/<token>.
	FeedbackToken string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Trouble says in a sentence that the relay is failing (it does not
// answer, cannot be reached or refuses the account), since when and with
// what error, or "" while it works.
func (r Relay) Trouble() string {
	if r.FailingSince.IsZero() {
		return ""
	}
	return fmt.Sprintf("Relay %s has been failing since %s UTC: %s. Mail goes through the other enabled relays meanwhile, if there are any; "+
		"Herald tries this one again every minute and clears this once a message goes through it.",
		r.Name, r.FailingSince.UTC().Format("2 Jan 15:04"), r.FailingError)
}

// Addr returns host:port.
func (r Relay) Addr() string { return net.JoinHostPort(r.Host, fmt.Sprint(r.Port)) }

// RelayInput is what it takes to create or update a relay. A nil Password keeps
// the stored one; an empty one removes it.
type RelayInput struct {
	Name             string
	Kind             string
	Host             string
	Port             int
	TLS              string
	Username         string
	Password         *string
	Region           string
	ConfigurationSet string
	Endpoint         string
	MaxConnections   int
	RatePerSecond    float64
	DailyQuota       int
	WarmupDays       int
	WarmupStart      int
	Enabled          bool
	// PricePer1000 is what the relay charges for 1,000 messages, in the
	// owner's currency; 0 when unknown.
	PricePer1000 float64
}

// InputOf returns the input that would store r unchanged.
func (r Relay) InputOf() RelayInput {
	return RelayInput{Name: r.Name, Kind: r.Kind, Host: r.Host, Port: r.Port, TLS: r.TLS, Username: r.Username,
		Region: r.Region, ConfigurationSet: r.ConfigurationSet, Endpoint: r.Endpoint, MaxConnections: r.MaxConnections,
		RatePerSecond: r.RatePerSecond, DailyQuota: r.DailyQuota, WarmupDays: r.WarmupDays, WarmupStart: r.WarmupStart, Enabled: r.Enabled,
		PricePer1000: r.PricePer1000}
}

func (in *RelayInput) normalize() {
	in.Name = strings.TrimSpace(in.Name)
	in.Kind = strings.ToLower(strings.TrimSpace(in.Kind))
	in.Host = strings.TrimSpace(in.Host)
	in.TLS = strings.ToLower(strings.TrimSpace(in.TLS))
	in.Username = strings.TrimSpace(in.Username)
	in.Region = strings.ToLower(strings.TrimSpace(in.Region))
	in.ConfigurationSet = strings.TrimSpace(in.ConfigurationSet)
	in.Endpoint = strings.TrimSpace(in.Endpoint)
	if in.Kind == RelaySES {
		in.Host, in.Port, in.TLS = "", 0, TLSNone
	} else {
		in.Region, in.ConfigurationSet, in.Endpoint = "", "", ""
	}
}

// Validate reports what is wrong with in, keyed by API field name.
func (in RelayInput) Validate() map[string]string {
	errs := map[string]string{}
	switch {
	case in.Name == "":
		errs["name"] = "Give the relay a name, like \"Postmark\" or \"Office server\"."
	case CheckLine(in.Name, 100) != "":
		errs["name"] = CheckLine(in.Name, 100)
	}
	switch in.Kind {
	case RelaySMTP:
		in.validateSMTP(errs)
	case RelaySES:
		in.validateSES(errs)
	default:
		errs["kind"] = "Kind must be \"smtp\" or \"ses\"."
	}
	if in.MaxConnections < 1 || in.MaxConnections > 100 {
		errs["max_connections"] = "Max connections must be between 1 and 100."
	}
	if math.IsNaN(in.PricePer1000) || in.PricePer1000 < 0 || in.PricePer1000 > 100000 {
		errs["price_per_1000"] = "Give the price of 1,000 messages as a number, like 0.10; 0 when you do not know it."
	}
	if math.IsNaN(in.RatePerSecond) || in.RatePerSecond < 0 || in.RatePerSecond > 100000 {
		errs["rate_per_second"] = "Messages per second must be 0 (no limit) or a positive number."
	}
	if in.DailyQuota < 0 || in.DailyQuota > 100_000_000 {
		errs["daily_quota"] = "The daily quota must be 0 (no limit) or a positive whole number."
	}
	switch {
	case in.WarmupDays < 0 || in.WarmupDays > 365:
		errs["warmup_days"] = "Warm-up lasts 0 (none) to 365 days."
	case in.WarmupDays > 0 && in.WarmupStart < 1:
		errs["warmup_start"] = "Give the first day's cap, like 200 messages."
	case in.WarmupDays > 0 && in.DailyQuota > 0 && in.WarmupStart > in.DailyQuota:
		errs["warmup_start"] = "The first day's cap cannot be above the daily quota."
	}
	return errs
}

func (in RelayInput) validateSMTP(errs map[string]string) {
	switch {
	case in.Host == "":
		errs["host"] = "Enter the server's host name, like smtp.example.com."
	case len(in.Host) > 253 || hasControl(in.Host):
		errs["host"] = "Enter a host name of at most 253 characters, like smtp.example.com."
	case strings.ContainsAny(in.Host, " /:@") && net.ParseIP(in.Host) == nil:
		errs["host"] = "Enter only the host name, without scheme, port or path."
	}
	if len(in.Username) > 320 || hasControl(in.Username) {
		errs["username"] = "Enter a username of at most 320 characters on one line."
	}
	if in.Port < 1 || in.Port > 65535 {
		errs["port"] = "Port must be between 1 and 65535 (usually 587 for STARTTLS, 465 for TLS, 25 for none)."
	}
	if in.TLS != TLSNone && in.TLS != TLSStartTLS && in.TLS != TLSImplicit {
		errs["tls"] = "TLS must be none, starttls or tls."
	}
	if in.Password != nil && *in.Password != "" && in.Username == "" {
		errs["username"] = "Enter the username that goes with the password."
	}
}

var awsRegion = regexp.MustCompile(`^[a-z]{2,}(-[a-z]+)+-[0-9]+$`)

func (in RelayInput) validateSES(errs map[string]string) {
	if !awsRegion.MatchString(in.Region) {
		errs["region"] = "Give the AWS region of your SES account, like us-east-1 or eu-west-1."
	}
	if len(in.Username) > 128 || hasControl(in.Username) || strings.ContainsAny(in.Username, " /") {
		errs["access_key_id"] = "An access key id looks like AKIAIOSFODNN7EXAMPLE."
	}
	if in.Password != nil && *in.Password != "" && in.Username == "" {
		errs["access_key_id"] = "Give the access key id that goes with the secret, or neither to use the server's IAM role."
	}
	if len(in.ConfigurationSet) > 64 || hasControl(in.ConfigurationSet) || strings.ContainsAny(in.ConfigurationSet, " /") {
		errs["configuration_set"] = "A configuration set name has letters, digits, - and _ only."
	}
	if in.Endpoint != "" {
		if u, err := url.Parse(in.Endpoint); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs["endpoint"] = "Give a URL like https://email.us-east-1.amazonaws.com, or leave it empty for SES itself."
		}
	}
}

const relayColumns = `id, name, kind, host, port, tls, username, password_enc IS NOT NULL, region, configuration_set, endpoint,
	max_connections, rate_per_second, daily_quota, warmup_days, warmup_start, coalesce(warmup_from, 0), coalesce(failing_since, 0), failing_error,
	enabled, created_at, updated_at, feedback_token, price_per_1000,
	(SELECT coalesce(sum(count), 0) FROM usage_counters WHERE scope = 'relay:' || relays.id
		AND window_start = CAST(strftime('%s', 'now', 'start of day') AS INTEGER))`

func scanRelay(row scanner) (Relay, error) {
	var r Relay
	var warmupFrom, failing, created, updated int64
	err := row.Scan(&r.ID, &r.Name, &r.Kind, &r.Host, &r.Port, &r.TLS, &r.Username, &r.PasswordSet, &r.Region, &r.ConfigurationSet, &r.Endpoint,
		&r.MaxConnections, &r.RatePerSecond, &r.DailyQuota, &r.WarmupDays, &r.WarmupStart, &warmupFrom, &failing, &r.FailingError,
		&r.Enabled, &created, &updated, &r.FeedbackToken, &r.PricePer1000, &r.SentToday)
	r.CreatedAt, r.UpdatedAt = fromUnix(created), fromUnix(updated)
	if failing != 0 {
		r.FailingSince = fromUnix(failing)
	}
	if warmupFrom != 0 {
		r.WarmupFrom = fromUnix(warmupFrom)
	}
	return r, err
}

// Relays lists relays by name.
func (s *Store) Relays(ctx context.Context) ([]Relay, error) {
	return queryAll(ctx, s, "relays", scanRelay, `SELECT `+relayColumns+` FROM relays ORDER BY name, id`)
}

// Relay returns one relay.
func (s *Store) Relay(ctx context.Context, id int64) (Relay, error) {
	r, err := scanRelay(s.r.QueryRowContext(ctx, `SELECT `+relayColumns+` FROM relays WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Relay{}, ErrNotFound
	}
	if err != nil {
		return Relay{}, fmt.Errorf("store: relay %d: %w", id, err)
	}
	return r, nil
}

// RelayPassword decrypts and returns the relay's stored password, or "".
func (s *Store) RelayPassword(ctx context.Context, id int64) (string, error) {
	var enc []byte
	err := s.r.QueryRowContext(ctx, `SELECT password_enc FROM relays WHERE id = ?`, id).Scan(&enc)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("store: relay %d password: %w", id, err)
	}
	if enc == nil {
		return "", nil
	}
	pw, err := s.box.Open(enc)
	if err != nil {
		return "", fmt.Errorf("store: relay %d password: %w", id, ErrSecretUnreadable)
	}
	return pw, nil
}

// UnreadableSecrets counts the relay passwords the current secret key cannot
// decrypt, which happens when the database moved without its key.
func (s *Store) UnreadableSecrets(ctx context.Context) (int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT password_enc FROM relays WHERE password_enc IS NOT NULL`)
	if err != nil {
		return 0, fmt.Errorf("store: check secrets: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var enc []byte
		if err := rows.Scan(&enc); err != nil {
			return 0, fmt.Errorf("store: check secrets: %w", err)
		}
		if _, err := s.box.Open(enc); err != nil {
			n++
		}
	}
	return n, rows.Err()
}

// sealPassword returns the encrypted password, or nil for none.
func (s *Store) sealPassword(pw string) ([]byte, error) {
	if pw == "" {
		return nil, nil
	}
	return s.box.Seal(pw)
}

// CreateRelay validates and stores a relay, encrypting its password.
func (s *Store) CreateRelay(ctx context.Context, in RelayInput) (Relay, error) {
	in.normalize()
	if errs := in.Validate(); len(errs) > 0 {
		return Relay{}, &ValidationError{Fields: errs}
	}
	var enc []byte
	if in.Password != nil {
		var err error
		if enc, err = s.sealPassword(*in.Password); err != nil {
			return Relay{}, err
		}
	}
	now := unix(s.now())
	res, err := s.w.ExecContext(ctx, `INSERT INTO relays (name, kind, host, port, tls, username, password_enc, region, configuration_set, endpoint,
	max_connections, rate_per_second, daily_quota, warmup_days, warmup_start, warmup_from, enabled, created_at, updated_at, feedback_token, price_per_1000)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CASE WHEN ? > 0 THEN ? END, ?, ?, ?, ?, ?)`,
		in.Name, in.Kind, in.Host, in.Port, in.TLS, in.Username, enc, in.Region, in.ConfigurationSet, in.Endpoint,
		in.MaxConnections, in.RatePerSecond, in.DailyQuota, in.WarmupDays, in.WarmupStart, in.WarmupDays, now, in.Enabled, now, now, randomToken(16), in.PricePer1000)
	if isUniqueViolation(err) {
		return Relay{}, conflict("a relay named %q already exists", in.Name)
	}
	if err != nil {
		return Relay{}, fmt.Errorf("store: create relay: %w", err)
	}
	id, _ := res.LastInsertId()
	return s.Relay(ctx, id)
}

// UpdateRelay validates and stores new values for a relay. A relay left
// without a username loses its password too.
func (s *Store) UpdateRelay(ctx context.Context, id int64, in RelayInput) (Relay, error) {
	in.normalize()
	if in.Username == "" && in.Password == nil {
		in.Password = new(string)
	}
	if errs := in.Validate(); len(errs) > 0 {
		return Relay{}, &ValidationError{Fields: errs}
	}
	now := unix(s.now())
	// Warm-up counts its days from when it was turned on.
	q := `UPDATE relays SET name = ?, kind = ?, host = ?, port = ?, tls = ?, username = ?, region = ?, configuration_set = ?, endpoint = ?,
	max_connections = ?, rate_per_second = ?, daily_quota = ?, warmup_days = ?, warmup_start = ?,
	warmup_from = CASE WHEN ? = 0 THEN NULL ELSE coalesce(warmup_from, ?) END, enabled = ?, updated_at = ?, price_per_1000 = ?`
	args := []any{in.Name, in.Kind, in.Host, in.Port, in.TLS, in.Username, in.Region, in.ConfigurationSet, in.Endpoint,
		in.MaxConnections, in.RatePerSecond, in.DailyQuota, in.WarmupDays, in.WarmupStart, in.WarmupDays, now, in.Enabled, now, in.PricePer1000}
	if in.Password != nil {
		enc, err := s.sealPassword(*in.Password)
		if err != nil {
			return Relay{}, err
		}
		q += `, password_enc = ?`
		args = append(args, enc)
	}
	res, err := s.w.ExecContext(ctx, q+` WHERE id = ?`, append(args, id)...)
	if isUniqueViolation(err) {
		return Relay{}, conflict("a relay named %q already exists", in.Name)
	}
	if err != nil {
		return Relay{}, fmt.Errorf("store: update relay %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Relay{}, ErrNotFound
	}
	return s.Relay(ctx, id)
}

// DeleteRelay removes a relay.
func (s *Store) DeleteRelay(ctx context.Context, id int64) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM relays WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("store: delete relay %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// DefaultRelay returns the relay system emails go through: the first
// enabled relay.
func (s *Store) DefaultRelay(ctx context.Context) (Relay, error) {
	r, err := scanRelay(s.r.QueryRowContext(ctx, `SELECT `+relayColumns+` FROM relays WHERE enabled ORDER BY id LIMIT 1`))
	if errors.Is(err, sql.ErrNoRows) {
		return Relay{}, ErrNotFound
	}
	if err != nil {
		return Relay{}, fmt.Errorf("store: default relay: %w", err)
	}
	return r, nil
}

// RelayFailing records that a relay did not answer, with the error it
// gave; it has been failing since the first such error after its last
// success. Its settings, and so its updated time, stay as they are.
func (s *Store) RelayFailing(ctx context.Context, id int64, why string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE relays SET failing_since = coalesce(failing_since, ?), failing_error = ? WHERE id = ?`,
		unix(s.now()), why, id)
	if err != nil {
		return fmt.Errorf("store: relay %d failing: %w", id, err)
	}
	return nil
}

// RelayAnswering records that a message went through a relay again.
func (s *Store) RelayAnswering(ctx context.Context, id int64) error {
	_, err := s.w.ExecContext(ctx, `UPDATE relays SET failing_since = NULL, failing_error = '' WHERE id = ? AND failing_since IS NOT NULL`, id)
	if err != nil {
		return fmt.Errorf("store: relay %d answering: %w", id, err)
	}
	return nil
}
