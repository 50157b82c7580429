package templates

import (
	"fmt"
	"time"
)

// CampaignsProps is the campaign list with the form that starts a new one.
type CampaignsProps struct {
	Shell     Shell
	Status    string
	Name      string
	Errors    FieldErrors
	Campaigns []CampaignRow
	Total     int
	Page      int
	Pages     int
}

// CampaignRow is one campaign in the list.
type CampaignRow struct {
	ID         int64
	Name       string
	Subject    string
	Status     string
	Recipients int
	SendAt     time.Time
	StartedAt  time.Time
	UpdatedAt  time.Time
	// RepeatsAt is a running series' next send.
	RepeatsAt time.Time
}

// CampaignForm is the state of the campaign editor; ids are strings, with
// "" for none.
type CampaignForm struct {
	Name             string
	Subject          string
	Preheader        string
	FromName         string
	FromEmail        string
	ReplyTo          string
	TemplateID       string
	Format           string
	Body             string
	TextBody         string
	LayoutID         string
	ListIDs          []string
	SegmentID        string
	ExcludeListIDs   []string
	ExcludeSegmentID string
	RelayID          string
	// SendAt is a datetime-local value in the organisation's timezone.
	SendAt string
	// Tracking: opens and clicks, and UTM parameters for the links.
	TrackOpens, TrackClicks           bool
	UTMSource, UTMMedium, UTMCampaign string
	// LocalAt sends at that time in each contact's timezone.
	LocalAt string
	// The A/B test: on, its share, metric and wait, and variants B to D
	// (A is the campaign as written).
	ABOn                        bool
	ABPercent, ABMetric, ABWait string
	ABVariants                  [3]ABVariantForm
	// ABSlots are the form's slots (0 for B) the test's variants after A
	// came from, as empty slots are left out.
	ABSlots []int
	// The schedule of a recurring campaign.
	RecurEvery, RecurAt, RecurWeekday, RecurDay, RecurCron, RecurFeed string
}

// ABVariantForm is one variant's fields as typed.
type ABVariantForm struct {
	Subject, Preheader, FromName, TemplateID string
	// Kept marks a slot whose variant has what the form does not show (a
	// body set through the API): it stays when its fields are empty.
	Kept bool
}

// abLetter names variant i.
func abLetter(i int) string { return string(rune('A' + i)) }

// CampaignProps is one campaign's page: its editor while it is a draft or
// scheduled, its progress once it has started.
type CampaignProps struct {
	Shell    Shell
	ID       int64
	Status   string
	Editable bool
	Form     CampaignForm
	Errors   FieldErrors
	// The choices the editor offers.
	Templates []Option
	Layouts   []Option
	Lists     []Option
	Segments  []Option
	Relays    []Option
	Contacts  []Option
	// Timezone is the organisation's, in which times are given.
	Timezone    string
	DefaultFrom string
	// SendAtLocal is when a scheduled campaign starts, in words, in Timezone.
	SendAtLocal string
	// Missed says why a draft that was scheduled could not start at its time.
	Missed   string
	Preview  PreviewProps
	TestTo   string
	Progress CampaignProgress
	// Details are the facts of a started campaign: Label, then Value.
	Details []Option
	// AB is the test's report, for a started A/B test.
	AB *ABReport
	// Series says when a recurring campaign next sends, in words; "" when
	// its schedule is not running.
	Series string
	// Recurring marks a campaign with a schedule to repeat on.
	Recurring bool
}

// ABReport is an A/B test's numbers and what they say.
type ABReport struct {
	Status, Metric, Verdict, Test string
	DecideAt                      string
	Winner                        int
	Decided                       bool
	Variants                      []ABVariantRow
	Best                          int
}

// ABVariantRow is one variant in the report.
type ABVariantRow struct {
	Name, Changes         string
	Sent, Opened, Clicked int
	Rate, P               string
	Significant, Enough   bool
}

// CampaignProgress is a campaign's outbox by status, with its pace.
type CampaignProgress struct {
	ID           int64
	Status       string
	Preparing    bool
	Recipients   int
	Queued       int
	Sending      int
	Sent         int
	Failed       int
	Retrying     int
	Cancelled    int
	Suppressed   int
	Unsubscribed int
	Bounced      int
	Complained   int
	Unconfirmed  int
	// Rate is messages per second lately; 0 when unknown.
	Rate float64
	// Left is the estimated time to finish; negative when unknown.
	Left time.Duration
	// ForWinner counts the sends an A/B test holds for its winner; they
	// are out of Queued and the time left.
	ForWinner int
	// Held says why a sending campaign waits, and PausedReason why it
	// paused itself.
	Held         string
	PausedReason string
	// RelayTrouble says that the campaign's relay does not answer.
	RelayTrouble string
	// Next is the URL the card polls while the campaign sends.
	Next       string
	StartedAt  time.Time
	FinishedAt time.Time
}

// Remaining is how many recipients have yet to get the message.
func (p CampaignProgress) Remaining() int { return p.Queued + p.Sending + p.Retrying }

// Done is the share of recipients whose message is settled, sent or not.
func (p CampaignProgress) Done() float64 {
	if p.Recipients == 0 {
		return 0
	}
	return float64(p.Sent+p.Failed+p.Cancelled) / float64(p.Recipients)
}

// Skipped is how many in the audience were left out.
func (p CampaignProgress) Skipped() int {
	return p.Suppressed + p.Unsubscribed + p.Bounced + p.Complained + p.Unconfirmed
}

// CampaignRecipientsProps pages through a campaign's outbox.
type CampaignRecipientsProps struct {
	Shell  Shell
	ID     int64
	Name   string
	Status string
	Counts map[string]int
	Total  int
	Page   int
	Pages  int
	Rows   []RecipientRow
}

// RecipientRow is one recipient of a campaign and what became of them.
type RecipientRow struct {
	ContactID int64
	Email     string
	Status    string
	Attempts  int
	// Answer is the relay's last reply, with its code.
	Answer      string
	NextAttempt time.Time
	UpdatedAt   time.Time
}

// ProgressID is the progress card that polls for itself.
const ProgressID = "campaign-progress"

// CampaignTestID is where a test send's result appears.
const CampaignTestID = "campaign-test-result"

func campaignStatuses() []Option {
	return []Option{{"", "All"}, {"draft", "Drafts"}, {"scheduled", "Scheduled"}, {"sending", "Sending"}, {"paused", "Paused"},
		{"sent", "Sent"}, {"cancelled", "Cancelled"}}
}

func sendStatuses() []Option {
	return []Option{{"", "All"}, {"queued", "Queued"}, {"sending", "Sending"}, {"sent", "Sent"}, {"retrying", "Retrying"},
		{"failed", "Failed"}, {"cancelled", "Cancelled"}}
}

func campaignBadge(status string) string {
	switch status {
	case "sent":
		return "badge badge-ok"
	case "sending", "scheduled":
		return "badge badge-warn"
	case "paused", "cancelled":
		return "badge badge-error"
	}
	return "badge badge-muted"
}

func rateLabelPerSecond(r float64) string {
	if r <= 0 {
		return "—"
	}
	if r < 10 {
		return fmt.Sprintf("%.1f/s", r)
	}
	return fmt.Sprintf("%.0f/s", r)
}

func durationLabel(d time.Duration) string {
	switch {
	case d < 0:
		return "—"
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()+0.5))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()+0.5))
	}
	return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
}

func selectedIn(list []string, v string) bool { return contains(list, v) }

func campaignPath(id int64, rest string) string { return "/campaigns/" + i64(id) + rest }

// withQuery is path with one query parameter, or path alone when value is empty.
func withQuery(path, key, value string) string {
	if q := queryOf(key, value); q != "" {
		return path + "?" + q
	}
	return path
}

// countedLabel is a status tab's label with its count, except for "All".
func countedLabel(o Option, counts map[string]int) string {
	if o.Value == "" {
		return o.Label
	}
	return fmt.Sprintf("%s (%d)", o.Label, counts[o.Value])
}
