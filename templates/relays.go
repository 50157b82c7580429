package templates

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kinds of relay, as the store names them.
const (
	RelayKindSMTP = "smtp"
	RelayKindSES  = "ses"
)

// RelayRow is one relay in the list of relays.
type RelayRow struct {
	ID   int64
	Name string
	Kind string
	// Addr and TLS say where an SMTP relay is.
	Addr string
	TLS  string
	// Username is the SMTP login or the SES access key id.
	Username string
	// Region and ConfigurationSet are an SES relay's.
	Region           string
	ConfigurationSet string
	MaxConnections   int
	RatePerSecond    float64
	DailyQuota       int
	SentToday        int
	WarmupDays       int
	WarmupStart      int
	WarmupFrom       time.Time
	// Trouble says that the relay does not answer, or is "".
	Trouble string
}

// RelayForm is the relay form's state: what was typed, as text. The secret
// itself is never sent back to the browser.
type RelayForm struct {
	Name string
	Kind string
	Host string
	Port string
	TLS  string
	// Username is the SMTP login or the SES access key id.
	Username string
	// PasswordSet says a password (SES: secret access key) is saved.
	PasswordSet   bool
	ClearPassword bool
	// SecretTyped says the refused form carried a password or secret, which
	// must be typed again.
	SecretTyped      bool
	Region           string
	ConfigurationSet string
	Endpoint         string
	MaxConnections   string
	RatePerSecond    string
	DailyQuota       string
	WarmupDays       string
	WarmupStart      string
	WarmupFrom       time.Time
	Enabled          bool
	PricePer1000     string
}

// SES reports whether the form is an Amazon SES relay's.
func (f RelayForm) SES() bool { return f.Kind == RelayKindSES }

// SecretField is the form field that holds the password or secret key.
func (f RelayForm) SecretField() string {
	if f.SES() {
		return "secret_access_key"
	}
	return "password"
}

// RelayFormProps fill the add and edit pages of a relay.
type RelayFormProps struct {
	Shell  Shell
	ID     int64
	Form   RelayForm
	Errors FieldErrors
	// TestTo prefills the test address.
	TestTo string
	// TestFrom is the sender a test email will use.
	TestFrom string
	// NotificationURL is where SNS posts an SES relay's bounces,
	// complaints and deliveries.
	NotificationURL string
}

// RelayFormCardID is the card holding the relay form, which the kind switch
// of a new relay replaces.
const RelayFormCardID = "relay-form-card"

// RelayTestResultID is the element a relay test answer is swapped into.
const RelayTestResultID = "relay-test-result"

// RelayTestResult is the answer of a test send, swapped in under the test
// form; for SES, with the account's quota or why it could not be read.
type RelayTestResult struct {
	OK         bool
	To         string
	Reply      string
	Detail     string
	Quota      *RelayQuota
	QuotaError string
}

// RelayQuota is an SES account's sending allowance.
type RelayQuota struct {
	// Max24Hour is -1 for no limit.
	Max24Hour        float64
	MaxPerSecond     float64
	SentLast24Hours  float64
	SendingEnabled   bool
	ProductionAccess bool
}

// Summary says the quota in a sentence or two.
func (q RelayQuota) Summary() string {
	allowance := "no 24-hour limit"
	if q.Max24Hour >= 0 {
		allowance = relayAmount(q.Max24Hour) + " messages per 24 hours"
	}
	s := fmt.Sprintf("SES allows this account %s at up to %s a second; %s sent in the last 24 hours.",
		allowance, relayAmount(q.MaxPerSecond), relayAmount(q.SentLast24Hours))
	if !q.SendingEnabled {
		s += " SES has paused sending for this account."
	}
	if !q.ProductionAccess {
		s += " The account is in the SES sandbox: it can only send to addresses verified in SES until AWS grants production access."
	}
	return s
}

// relayAmount writes a count or rate with thousands separated.
func relayAmount(f float64) string {
	if f != float64(int64(f)) {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	digits := strconv.FormatInt(int64(f), 10)
	neg := strings.HasPrefix(digits, "-")
	digits = strings.TrimPrefix(digits, "-")
	var b strings.Builder
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func relayPath(id int64) string { return fmt.Sprintf("/settings/relays/%d", id) }

func newRelayPath(kind string) string { return "/settings/relays/new?kind=" + kind }

func relayFormAction(id int64) string {
	if id == 0 {
		return "/settings/relays"
	}
	return relayPath(id)
}

func relayKindLabel(kind string) string {
	if kind == RelayKindSES {
		return "Amazon SES"
	}
	return "SMTP"
}

// relayWhere says where a relay sends: an SMTP server, or an SES region.
func relayWhere(r RelayRow) string {
	if r.Kind != RelayKindSES {
		return r.Addr + " · " + tlsLabel(r.TLS)
	}
	if r.ConfigurationSet != "" {
		return r.Region + " · configuration set " + r.ConfigurationSet
	}
	return r.Region
}

// relayLogin says how a relay signs in, or "" for not at all.
func relayLogin(r RelayRow) string {
	if r.Kind == RelayKindSES && r.Username == "" {
		return "server's AWS credentials"
	}
	return r.Username
}

// relayDaily says a relay's daily quota.
func relayDaily(r RelayRow) string {
	if r.DailyQuota == 0 {
		return "no limit"
	}
	return relayAmount(float64(r.DailyQuota))
}

// relayWarmup says a relay's warm-up, or "" for none.
func relayWarmup(r RelayRow) string {
	if r.WarmupDays == 0 {
		return ""
	}
	s := fmt.Sprintf("Warm-up over %d days from %s a day", r.WarmupDays, relayAmount(float64(r.WarmupStart)))
	if !r.WarmupFrom.IsZero() {
		s += ", since " + fmtDate(r.WarmupFrom)
	}
	return s + "."
}

func tlsLabel(mode string) string {
	switch mode {
	case "starttls":
		return "STARTTLS"
	case "tls":
		return "Implicit TLS"
	}
	return "None"
}

func rateLabel(r float64) string {
	if r == 0 {
		return "no limit"
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

func passwordHint(set bool) string {
	if set {
		return "A password is saved. Leave empty to keep it."
	}
	return ""
}

func passwordPlaceholder(set bool) string {
	if set {
		return "•••••••• (saved)"
	}
	return ""
}

func secretHint(set bool) string {
	s := "Leave both keys empty to use the server's IAM role or default AWS credentials (environment variables or ~/.aws)."
	if set {
		s = "A secret is saved. Leave empty to keep it; empty the access key id as well to use the server's IAM role instead."
	}
	return s
}

func warmupHint(from time.Time) string {
	s := "Raises volume gradually for a new domain or account: the first day's cap grows to the daily quota (or doubles each day without one) over this many days. 0 means no warm-up."
	if !from.IsZero() {
		s += " Warm-up started on " + fmtDate(from) + "."
	}
	return s
}

// sesRegions are the AWS regions offered as suggestions; any region may be
// typed.
func sesRegions() []string {
	return []string{"us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1",
		"eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-central-2", "eu-south-1", "eu-north-1",
		"ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2",
		"ap-southeast-3", "me-south-1", "me-central-1", "af-south-1", "il-central-1"}
}

// RelaysProps fill the list of relays.
type RelaysProps struct {
	Shell  Shell
	Relays []RelayRow
}

// RelayQuotaView is what a relay may still send.
type RelayQuotaView struct {
	SES                                      bool
	Max24Hour, MaxPerSecond, SentLast24Hours float64
	SendingEnabled, ProductionAccess         bool
	SESError                                 string
	DailyQuota, SentToday, TodayCap          int
	CapReason                                string
	Used                                     float64
	Level                                    string
}

func pctText(f float64) string { return strconv.FormatFloat(f*100, 'f', 0, 64) + "%" }

func sesMax(n float64) string {
	if n < 0 {
		return "no limit"
	}
	return relayAmount(n)
}

func quotaText(n int) string {
	if n == 0 {
		return "none"
	}
	return itoa(n)
}
