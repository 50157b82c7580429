package templates

import (
	"fmt"
	"time"
)

// WebhooksProps fill Settings → Webhooks.
type WebhooksProps struct {
	Shell    Shell
	Webhooks []WebhookRow
	// Form is the new endpoint's form, kept when it is refused.
	Form   WebhookForm
	Errors FieldErrors
	// EventTypes are the types an endpoint can ask for.
	EventTypes []string
	// AllowedHosts is one host a line.
	AllowedHosts string
	// NewSecret is the secret of an endpoint just made, shown at once.
	NewSecret, NewURL string
}

// WebhookRow is one endpoint in the list.
type WebhookRow struct {
	ID                   int64
	URL, Description     string
	Events               string
	Enabled              bool
	Trouble              string
	Pending, Failed      int
	FailingSince         time.Time
	DisabledReason       string
	CreatedAt, UpdatedAt time.Time
}

// WebhookForm is an endpoint's form.
type WebhookForm struct {
	URL, Description string
	Events           []string
	Enabled          bool
}

// WebhookProps fill one endpoint's page: its form, its secret and its
// delivery log.
type WebhookProps struct {
	Shell      Shell
	ID         int64
	Form       WebhookForm
	Errors     FieldErrors
	EventTypes []string
	Secret     string
	// OldSecretUntil is when the secret before a roll stops signing.
	OldSecretUntil time.Time
	FailingSince   time.Time
	DisabledReason string
	Deliveries     []DeliveryRow
	// Status filters the log; Page, Pages and Total page it.
	Status             string
	Page, Pages, Total int
}

// DeliveryRow is one delivery in an endpoint's log.
type DeliveryRow struct {
	ID            int64
	EventID       string
	EventType     string
	Status        string
	Attempts      int
	LastCode      int
	LastError     string
	NextAttemptAt time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// DeliveryProps fill a delivery's page: the event and each attempt.
type DeliveryProps struct {
	Shell     Shell
	WebhookID int64
	URL       string
	Delivery  DeliveryRow
	Payload   string
	Attempts  []AttemptRow
}

// AttemptRow is one try at a delivery.
type AttemptRow struct {
	At                time.Time
	Request, Response string
	StatusCode        int
	Error             string
	Latency           time.Duration
}

func webhookPath(id int64) string { return fmt.Sprintf("/settings/webhooks/%d", id) }

func deliveryPath(webhook, id int64) string {
	return fmt.Sprintf("/settings/webhooks/%d/deliveries/%d", webhook, id)
}

// deliveriesLink is an endpoint's page with its log of one status.
func deliveriesLink(id int64, status string) string {
	if status == "" {
		return webhookPath(id)
	}
	return webhookPath(id) + "?" + queryOf("status", status)
}

func deliveryBadge(status string) string {
	switch status {
	case "delivered":
		return "badge badge-ok"
	case "failed":
		return "badge badge-error"
	}
	return "badge badge-warn"
}
