package templates

import "time"

// SuppressionRow is one entry of the do-not-send list.
type SuppressionRow struct {
	ID        int64
	Kind      string
	Value     string
	Reason    string
	Source    string
	CreatedAt time.Time
}

// SuppressionsProps fill the suppressions page.
type SuppressionsProps struct {
	Shell  Shell
	Rows   []SuppressionRow
	Total  int
	Page   int
	Pages  int
	Q      string
	Value  string
	Reason string
	Errors FieldErrors
}
