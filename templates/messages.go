package templates

import (
	"fmt"
	"net/url"
	"time"
)

// MessagesProps lists transactional messages, newest first.
type MessagesProps struct {
	Shell  Shell
	Status string
	// Kind is transactional, system, or "" for both.
	Kind  string
	Total int
	Page  int
	Pages int
	Rows  []MessageRow
	// Filter narrows the list beyond status and kind; Stats counts what
	// the filters match.
	Filter MessageFilterForm
	Stats  MessageStatsView
	// The form that sends one message by hand.
	Form      MessageForm
	Templates []Option
	Errors    FieldErrors
}

// MessageForm is the state of the form that sends one message.
type MessageForm struct {
	To, Cc, Bcc string
	TemplateID  string
	Data        string
	Subject     string
	Text        string
}

// MessageRow is one transactional message in the list.
type MessageRow struct {
	ID int64
	// Kind is transactional, or system for Herald's own mail.
	Kind      string
	To        string
	Subject   string
	Category  string
	Tags      []string
	Status    string
	CreatedAt time.Time
}

// MessageDetailProps is one transactional message: what it was, what
// became of it, and what it looked like.
type MessageDetailProps struct {
	Shell   Shell
	ID      int64
	Subject string
	Status  string
	// Details are its facts: Label, then Value.
	Details     []Option
	Headers     []Option
	Attachments []AttachmentRow
	Events      []MessageEventRow
	Preview     PreviewProps
}

// AttachmentRow is a file sent with a message.
type AttachmentRow struct {
	Filename    string
	ContentType string
	Size        int
}

// MessageEventRow is one step of a message's history.
type MessageEventRow struct {
	At     time.Time
	Status string
	Detail string
}

// messagesTabs are the pages of the Campaigns section.
func messagesTabs() []Option {
	return []Option{{"/campaigns", "Campaigns"}, {"/messages", "Transactional"}}
}

func messageStatuses() []Option {
	return []Option{{"", "All"}, {"queued", "Queued"}, {"sending", "Sending"}, {"sent", "Sent"}, {"retrying", "Retrying"},
		{"failed", "Failed"}, {"suppressed", "Suppressed"}}
}

func messageKinds() []Option {
	return []Option{{"", "All kinds"}, {"transactional", "Transactional"}, {"system", "System mail"}}
}

// MessageFilterForm is the message log's filters as typed: category, tag,
// recipient, and the days from and until.
type MessageFilterForm struct {
	Category, Tag, To, From, Until string
}

// MessageStatsView counts what the filters match, by status and category.
type MessageStatsView struct {
	ByStatus   []Count
	ByCategory []CategoryCount
}

// Count is a number with its label.
type Count struct {
	Label string
	N     int
}

// CategoryCount is one category's messages, sent and failed.
type CategoryCount struct {
	Category            string
	Total, Sent, Failed int
}

// messagesQuery is the list's query for a status and a kind, with the
// filters f.
func messagesQuery(status, kind string, f MessageFilterForm) string {
	q := url.Values{}
	for k, v := range map[string]string{"status": status, "kind": kind, "category": f.Category, "tag": f.Tag, "to": f.To,
		"created_from": f.From, "created_to": f.Until} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q.Encode()
}

// messagesLink is the list of a status and a kind, with the filters f.
func messagesLink(status, kind string, f MessageFilterForm) string {
	if q := messagesQuery(status, kind, f); q != "" {
		return "/messages?" + q
	}
	return "/messages"
}

func messagePath(id int64) string { return "/messages/" + i64(id) }

// byteSize writes a file size for people.
func byteSize(n int) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d bytes", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}

func categoryLabel(c string) string {
	if c == "" {
		return "(none)"
	}
	return c
}
