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
}

func countLabel(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
