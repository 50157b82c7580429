package templates

// Figure is one named number of a report, with an optional note (a rate's
// definition, a change against the period before).
type Figure struct {
	Label string
	Value string
	Note  string
	// Trend is "up" or "down" when Note is a change worth colouring.
	Trend string
}

// ReportTable is a table of a report: the first column names the row, the
// others are numbers.
type ReportTable struct {
	Caption string
	Head    []string
	Rows    []ReportRow
	// Empty says what an empty table means.
	Empty string
}

// ReportRow is one row; Link, when set, links its first cell.
type ReportRow struct {
	Link  string
	Cells []string
}

// ReportBreakdowns are a campaign's results by recipient domain and by
// list, which read every send and so come after the rest of the report.
type ReportBreakdowns struct {
	Domains ReportTable
	Lists   ReportTable
}

// CampaignReportProps is a campaign's report page.
type CampaignReportProps struct {
	Tracking ReportTracking
	Shell    Shell
	ID       int64
	Name     string
	Status   string
	// All counts machine opens and clicks; Toggle is the report the other way.
	All    bool
	Toggle string
	Live   CampaignReportLive
	Links  ReportTable
	// Breakdowns are the results by domain and by list, which read every
	// send: shown at once for a smaller campaign, else fetched after the
	// page from BreakdownsURL (with a link to them without JavaScript).
	Breakdowns    *ReportBreakdowns
	BreakdownsURL string
	ShowURL       string
	Bounces       ReportTable
	// Who opened or clicked, by Filter; Next pages on, CSV exports them all.
	Filter     string
	Filters    []Option
	Recipients ReportTable
	Next       string
	CSV        string
}

// CampaignReportLive is the part of a campaign's report that refreshes
// itself while the campaign sends: Refresh is its own address then.
type CampaignReportLive struct {
	Refresh string
	Funnel  []Figure
	Rates   []Figure
	Chart   ChartProps
}

// ReportTracking says what a campaign's messages tracked when it went out:
// Notes explain what its figures cannot show; WhoOpened is false when
// nobody's opens were recorded, so there is no list of who did not open.
type ReportTracking struct {
	Notes     []string
	WhoOpened bool
}

// ReportsProps fill the overview of every campaign and transactional
// message between two dates.
type ReportsProps struct {
	Shell     Shell
	From, To  string
	Interval  string
	Intervals []Option
	Errors    FieldErrors
	Zone      string
	Totals    []Figure
	Chart     ChartProps
	Campaigns ReportTable
	// Query is the form's query, for the exports.
	Query string
}

// CompareProps fill the comparison of campaigns' rates.
type CompareProps struct {
	Shell  Shell
	Recent []CompareChoice
	Rates  ReportTable
	Chart  ChartProps
}

// CompareChoice is a recent campaign to tick for the comparison.
type CompareChoice struct {
	ID      int64
	Name    string
	Checked bool
}

// CostsProps fill Reports → Costs.
type CostsProps struct {
	Shell    Shell
	From, To string
	Errors   FieldErrors
	// Priced is false when a relay without a price sent some of the mail.
	Priced                          bool
	ByMonth, ByCampaign, ByCategory []CostRow
}

// CostRow is one line of a costs table; Cost is written for people.
type CostRow struct {
	Name, Cost string
	Sent       int
}

// CostTable is one of the costs page's tables.
type CostTable struct {
	Title string
	Lines []CostRow
}
