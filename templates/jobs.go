package templates

import "time"

// JobsProps fill Settings → Jobs: the durable queues, then the cron jobs.
type JobsProps struct {
	Shell  Shell
	Queues []QueueRow
	Jobs   []JobRow
	// CronPaused says the scheduled jobs are paused.
	CronPaused bool
}

// JobRow is one scheduled job's state.
type JobRow struct {
	Name      string
	Spec      string
	LastRun   time.Time
	NextRun   time.Time
	LastError string
}

// QueueRow is how a durable queue stands.
type QueueRow struct {
	Name, Label, Blurb                          string
	Waiting, Delayed, Running, Retrying, Failed int
	DoneToday, DoneLastMinute, DoneLastHour     int
	OldestWaiting                               time.Time
	// OldestAge is how long the oldest waiting item has waited, in words.
	OldestAge            string
	LastError            string
	Pausable, Paused     bool
	PausedAt             time.Time
	PausedBy             string
	PerMinute            int
	CanRetry, CanDiscard bool
}

// QueueProps fill a queue's page: its state and its items in one state.
type QueueProps struct {
	Shell  Shell
	Queue  QueueRow
	State  string
	Items  []QueueItemRow
	Errors FieldErrors
	// Throttle is the transactional cap as shown in its form.
	Throttle string
	// Page, Pages and Total page the items.
	Page, Pages, Total int
}

// QueueItemRow is one piece of work in a queue.
type QueueItemRow struct {
	ID            int64
	Title, Detail string
	// Link leads to what the item belongs to, when it has a page.
	Link      string
	Attempts  int
	Due       time.Time
	LastError string
	Retryable bool
}

// QueueLabel names a queue for people.
func QueueLabel(name string) string {
	switch name {
	case "transactional":
		return "Transactional email"
	case "system":
		return "System mail"
	case "campaigns":
		return "Campaign sending"
	case "imports":
		return "CSV imports"
	case "sources":
		return "Sources"
	case "webhooks":
		return "Webhook deliveries"
	case "cron":
		return "Scheduled jobs"
	}
	return name
}

// QueueBlurb says what a queue holds.
func QueueBlurb(name string) string {
	switch name {
	case "transactional":
		return "Receipts, password resets and every message sent through the API, high priority first. Never paused; it can be throttled."
	case "system":
		return "Herald's own mail: sign-up confirmations and alerts to the owners."
	case "campaigns":
		return "Each recipient of the campaigns being sent, and campaigns scheduled for later."
	case "imports":
		return "CSV files being imported, one at a time."
	case "sources":
		return "JSON APIs Herald pulls contacts from, each waiting for its next run."
	case "webhooks":
		return "Events on their way to your webhook endpoints."
	}
	return ""
}

func queueStates() []Option {
	return []Option{{"waiting", "Waiting"}, {"delayed", "Delayed"}, {"running", "Running"}, {"retrying", "Retrying"}, {"failed", "Failed"}, {"done", "Done today"}}
}

// QueueCount is how many items a queue holds in a state.
func QueueCount(q QueueRow, state string) int {
	switch state {
	case "waiting":
		return q.Waiting
	case "delayed":
		return q.Delayed
	case "running":
		return q.Running
	case "retrying":
		return q.Retrying
	case "failed":
		return q.Failed
	}
	return q.DoneToday
}

// retryLabel says what retrying a failed item does.
func retryLabel(queue string) string {
	if queue == "sources" {
		return "Enable and run"
	}
	return "Retry"
}

func queuePath(name string) string { return QueuePathOf(name) }

// QueuePathOf is a queue's page.
func QueuePathOf(name string) string { return "/settings/jobs/" + name }

// pausedText lists paused queues for the banner every page shows.
func pausedText(names []string) string {
	out := ""
	for i, n := range names {
		if i > 0 {
			out += ", "
		}
		out += QueueLabel(n)
	}
	return out
}
