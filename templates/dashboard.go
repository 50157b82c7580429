package templates

import "strconv"

// DashboardProps fill the dashboard.
type DashboardProps struct {
	Shell       Shell
	GeneralDone bool
	Relays      int
	APIKeys     int
	Contacts    int
	Active      int
	Lists       int
	// Sending activity.
	Attention     []Option
	Sending       []CampaignRow
	CampaignsSent int
	MessagesSent  int
	// Results: the last 30 days against the 30 before, day by day, and
	// the recent campaigns' rates.
	Period []Figure
	Chart  ChartProps
	Recent ReportTable
}

func countLabel(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
