package templates

import "time"

// JobsProps fill Settings → Jobs.
type JobsProps struct {
	Shell Shell
	Jobs  []JobRow
}

// JobRow is one scheduled job's state.
type JobRow struct {
	Name      string
	Spec      string
	LastRun   time.Time
	NextRun   time.Time
	LastError string
}
