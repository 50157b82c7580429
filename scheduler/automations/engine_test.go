package automations

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"herald/mailer/smtptest"
	"herald/scheduler/outbound"
	"herald/store"
)

// fixture is a store with a relay to a loopback SMTP server, a list, a
// campaign template and an engine, on a clock the test moves.
type fixture struct {
	st       *store.Store
	out      *outbound.Service
	e        *Engine
	srv      *smtptest.Server
	clock    *clock
	list     store.List
	template store.Template
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	box, _ := store.NewSecretBox([]byte("0123456789abcdef0123456789abcdef"))
	st, err := store.Open(ctx, t.TempDir(), box)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{st: st, clock: &clock{t: time.Now()}}
	st.SetClock(f.clock.Now)
	if _, err := st.SaveGeneral(ctx, store.General{OrgName: "Bakery", FromEmail: "news@bakery.example", BaseURL: "https://news.bakery.example",
		PostalAddress: "1 Mill Lane"}); err != nil {
		t.Fatal(err)
	}
	f.srv = smtptest.Start(t, smtptest.Options{})
	if _, err := st.CreateRelay(ctx, store.RelayInput{Name: "Sink", Kind: store.RelaySMTP, Host: f.srv.Host(), Port: f.srv.Port(),
		TLS: store.TLSNone, MaxConnections: 2, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateUser(ctx, store.NewUser{Email: "owner@bakery.example", Role: store.RoleOwner, Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	name := "News"
	if f.list, err = st.CreateList(ctx, store.ListInput{Name: &name}); err != nil {
		t.Fatal(err)
	}
	tname, kind, format, subject, body := "Welcome", store.KindCampaign, "markdown", "Welcome, {{.Contact.FirstName}}", "Hello **{{.Contact.FirstName}}**, glad you came."
	if f.template, err = st.CreateTemplate(ctx, store.TemplateInput{Name: &tname, Kind: &kind, Format: &format, Subject: &subject, Body: &body}, nil); err != nil {
		t.Fatal(err)
	}
	f.out, err = outbound.New(outbound.Config{Store: st, Log: quietLog(), FirstRetry: time.Second, Every: 50 * time.Millisecond, RelayTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	f.e = New(Config{Store: st, Outbound: f.out, Log: quietLog(), Every: 50 * time.Millisecond})
	return f
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// run runs a worker until the test ends, and waits for it.
func run(t testing.TB, w interface{ Run(context.Context) error }) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
	})
}

// clock is a clock the test moves by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// contact adds a contact, on the fixture's list when onList.
func (f *fixture) contact(t testing.TB, email string, onList bool) int64 {
	t.Helper()
	first := strings.Split(email, "@")[0]
	in := store.ContactInput{Email: &email, FirstName: &first, Source: "test"}
	if onList {
		in.Lists = []int64{f.list.ID}
	}
	c, _, err := f.st.CreateContact(context.Background(), in, false)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// automation creates and activates an automation.
func (f *fixture) automation(t testing.TB, trigger store.Trigger, entry store.Entry, goal string, steps ...store.Step) store.Automation {
	t.Helper()
	ctx := context.Background()
	name := "Flow " + trigger.Kind
	flow := store.Flow{Steps: steps}
	a, err := f.e.Create(ctx, store.AutomationInput{Name: &name, Trigger: &trigger, Entry: &entry, GoalEvent: &goal, Flow: &flow})
	if err != nil {
		t.Fatal(err)
	}
	if a, err = f.e.Activate(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	return a
}

// drain runs passes of the engine until nothing is due now.
func (f *fixture) drain(t testing.TB) {
	t.Helper()
	for range 1000 {
		full, err := f.e.Pass(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !full {
			js, err := f.st.ClaimJourneys(context.Background(), 1, time.Nanosecond)
			if err != nil {
				t.Fatal(err)
			}
			if len(js) == 0 {
				return
			}
			f.clock.Advance(time.Millisecond) // let the probe's lease lapse
		}
	}
	t.Fatal("journeys kept falling due")
}

// outcomes is a contact's journey through a, as "step:outcome" in order.
func (f *fixture) outcomes(t testing.TB, a store.Automation, contactID int64) (store.Journey, []string) {
	t.Helper()
	js, _, err := f.st.Journeys(context.Background(), a.ID, store.JourneyFilter{ContactID: contactID}, 10, 0)
	if err != nil || len(js) == 0 {
		t.Fatalf("journeys of contact %d: %v %v", contactID, js, err)
	}
	hs, err := f.st.JourneyHistory(context.Background(), js[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, h := range hs {
		out = append(out, fmt.Sprintf("%d:%s", h.StepID, h.Outcome))
	}
	return js[0], out
}

func tagsOf(t testing.TB, st *store.Store, id int64) []string {
	t.Helper()
	c, err := st.Contact(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c.Tags
}

// TestWelcomeFlowSendsItsEmailOnce: a contact who joins the list goes
// through tag, email and tag at once; the email reaches the SMTP server
// once, through the step's campaign, and the journey completes.
func TestWelcomeFlowSendsItsEmailOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.automation(t, store.Trigger{Kind: store.TriggerList, ListID: f.list.ID}, store.Entry{ExitOnUnsubscribe: true}, "",
		store.Step{Kind: store.StepAddTag, Tag: "new"},
		store.Step{Kind: store.StepEmail, TemplateID: f.template.ID},
		store.Step{Kind: store.StepAddTag, Tag: "welcomed"})
	run(t, f.out.Dispatcher())
	ann := f.contact(t, "ann@example.com", true)
	f.contact(t, "bob@example.com", false) // not on the list: does not enter
	f.drain(t)
	j, got := f.outcomes(t, a, ann)
	want := []string{"0:entered", "1:done", "2:sent", "3:done", "3:completed"}
	if fmt.Sprint(got) != fmt.Sprint(want) || j.Status != store.JourneyCompleted {
		t.Fatalf("got %v (%s), want %v completed", got, j.Status, want)
	}
	if tags := tagsOf(t, f.st, ann); fmt.Sprint(tags) != "[new welcomed]" {
		t.Errorf("got tags %v, want [new welcomed]", tags)
	}
	msgs := f.srv.Wait(1, 10*time.Second)
	if len(msgs) != 1 || msgs[0].To[0] != "ann@example.com" || !strings.Contains(string(msgs[0].Data), "Subject: Welcome, ann") {
		t.Fatalf("got %d messages %v, want the welcome to ann", len(msgs), msgs)
	}
	if !strings.Contains(string(msgs[0].Data), "List-Unsubscribe:") {
		t.Error("the automation's email has no List-Unsubscribe header")
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(f.srv.Messages()); n != 1 {
		t.Errorf("got %d messages, want 1", n)
	}
	stats, err := f.st.AutomationStats(context.Background(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stats[2].Passed != 1 || stats[2].Sent != 1 {
		t.Errorf("got email step stats %+v, want passed 1, sent 1", stats[2])
	}
	got2, err := f.st.Automation(context.Background(), a.ID)
	if err != nil || got2.Entered != 1 || got2.Completed != 1 {
		t.Errorf("got entered %d completed %d (%v), want 1 and 1", got2.Entered, got2.Completed, err)
	}
}

// TestEntryRules: once ever keeps a contact out the second time; again
// lets them in once the journey ended, but not sooner than every_days.
func TestEntryRules(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		entry store.Entry
		// after is how long after the first entry the second is tried.
		after time.Duration
		want  int
	}{
		{"once ever", store.Entry{}, 30 * 24 * time.Hour, 1},
		{"again", store.Entry{Again: true}, time.Hour, 2},
		{"again but too soon", store.Entry{Again: true, EveryDays: 7}, 6 * 24 * time.Hour, 1},
		{"again after the days", store.Entry{Again: true, EveryDays: 7}, 8 * 24 * time.Hour, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			a := f.automation(t, store.Trigger{Kind: store.TriggerTag, Tag: "VIP"}, tc.entry, "", store.Step{Kind: store.StepAddTag, Tag: "seen"})
			id := f.contact(t, "ann@example.com", false)
			ctx := context.Background()
			for i := range 2 {
				tags := []string{"VIP"}
				if _, err := f.st.UpdateContact(ctx, id, store.ContactInput{Tags: &tags}); err != nil {
					t.Fatal(err)
				}
				f.drain(t)
				none := []string{}
				if _, err := f.st.UpdateContact(ctx, id, store.ContactInput{Tags: &none}); err != nil {
					t.Fatal(err)
				}
				if i == 0 {
					f.clock.Advance(tc.after)
				}
			}
			_, n, err := f.st.Journeys(ctx, a.ID, store.JourneyFilter{ContactID: id}, 10, 0)
			if err != nil || n != tc.want {
				t.Fatalf("got %d journeys (%v), want %d", n, err, tc.want)
			}
		})
	}
}

// TestWaitForAnEvent: a contact whose event comes goes down the first
// branch at once; one whose event does not come goes down the second when
// the wait times out. The goal event ends a journey as converted.
func TestWaitForAnEvent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a := f.automation(t, store.Trigger{Kind: store.TriggerManual}, store.Entry{ExitOnUnsubscribe: true}, "purchase",
		store.Step{Kind: store.StepWaitEvent, Event: "viewed_cart", Seconds: 3600, Branches: [][]store.Step{
			{{Kind: store.StepAddTag, Tag: "viewed"}, {Kind: store.StepWait, Seconds: 86400}, {Kind: store.StepAddTag, Tag: "late"}},
			{{Kind: store.StepAddTag, Tag: "never viewed"}},
		}})
	ann, bob, cat := f.contact(t, "ann@example.com", false), f.contact(t, "bob@example.com", false), f.contact(t, "cat@example.com", false)
	res, err := f.e.Enroll(ctx, a.ID, []int64{ann, bob, cat}, "manual")
	if err != nil || res.Entered != 3 {
		t.Fatalf("enroll: %+v %v", res, err)
	}
	f.drain(t)
	if _, err := f.st.RecordEvents(ctx, []store.EventInput{{Email: "ann@example.com", Name: "viewed_cart"}, {Email: "cat@example.com", Name: "viewed_cart"}}); err != nil {
		t.Fatal(err)
	}
	f.drain(t)
	if _, err := f.st.RecordEvents(ctx, []store.EventInput{{Email: "cat@example.com", Name: "purchase"}}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(2 * time.Hour)
	f.drain(t)
	f.clock.Advance(24 * time.Hour)
	f.drain(t)
	for _, tc := range []struct {
		id     int64
		status string
		want   []string
	}{
		{ann, store.JourneyCompleted, []string{"0:entered", "1:yes", "2:done", "3:waited", "4:done", "4:completed"}},
		{bob, store.JourneyCompleted, []string{"0:entered", "1:no", "5:done", "5:completed"}},
		{cat, store.JourneyConverted, []string{"0:entered", "1:yes", "2:done", "3:converted"}},
	} {
		j, got := f.outcomes(t, a, tc.id)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) || j.Status != tc.status {
			t.Errorf("contact %d: got %v %s, want %v %s", tc.id, got, j.Status, tc.want, tc.status)
		}
	}
	if got, _ := f.st.Automation(ctx, a.ID); got.Converted != 1 || got.Completed != 2 {
		t.Errorf("got converted %d completed %d, want 1 and 2", got.Converted, got.Completed)
	}
}

// TestUnsubscribingEndsTheJourney: a contact who unsubscribes while they
// wait leaves the automation at once, and gets nothing more.
func TestUnsubscribingEndsTheJourney(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a := f.automation(t, store.Trigger{Kind: store.TriggerList, ListID: f.list.ID}, store.Entry{ExitOnUnsubscribe: true}, "",
		store.Step{Kind: store.StepWait, Seconds: 3600},
		store.Step{Kind: store.StepEmail, TemplateID: f.template.ID})
	ann := f.contact(t, "ann@example.com", true)
	f.drain(t)
	if err := f.st.Unsubscribe(ctx, ann, 0, "by a test"); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(2 * time.Hour)
	f.drain(t)
	j, got := f.outcomes(t, a, ann)
	if want := []string{"0:entered", "1:exited"}; fmt.Sprint(got) != fmt.Sprint(want) || j.Status != store.JourneyExited {
		t.Fatalf("got %v %s, want %v exited", got, j.Status, want)
	}
}

// TestConditionAndSplit: a condition sends contacts down yes or no by a
// segment rule, and a split shares them out at random by its percentages.
func TestConditionAndSplit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	rule := store.Rule{Match: "all", Conditions: []store.Rule{{Field: "attributes.city", Op: "eq", Value: json.RawMessage(`"Paris"`)}}}
	a := f.automation(t, store.Trigger{Kind: store.TriggerManual}, store.Entry{}, "",
		store.Step{Kind: store.StepCondition, Rule: &rule, Branches: [][]store.Step{
			{{Kind: store.StepAddTag, Tag: "paris"}},
			{{Kind: store.StepSplit, Percents: []int{50, 50}, Branches: [][]store.Step{
				{{Kind: store.StepAddTag, Tag: "a"}},
				{{Kind: store.StepAddTag, Tag: "b"}},
			}}},
		}})
	var ids []int64
	for i := range 200 {
		email := fmt.Sprintf("p%d@example.com", i)
		attrs := map[string]any{"city": "Lyon"}
		if i < 20 {
			attrs["city"] = "Paris"
		}
		c, _, err := f.st.CreateContact(ctx, store.ContactInput{Email: &email, Attributes: attrs, Source: "test"}, false)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	if _, err := f.e.Enroll(ctx, a.ID, ids, "api"); err != nil {
		t.Fatal(err)
	}
	f.drain(t)
	count := map[string]int{}
	for _, id := range ids {
		for _, tag := range tagsOf(t, f.st, id) {
			count[tag]++
		}
	}
	if count["paris"] != 20 || count["a"]+count["b"] != 180 || count["a"] < 60 || count["b"] < 60 {
		t.Fatalf("got %v, want 20 paris and 180 shared about evenly between a and b", count)
	}
}

// TestRemovingAStepWithContactsAsksWhereTheyGo: a change that drops a step
// where contacts wait is refused until it says where they go; then they
// move there, and everyone else keeps their place.
func TestRemovingAStepWithContactsAsksWhereTheyGo(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a := f.automation(t, store.Trigger{Kind: store.TriggerManual}, store.Entry{}, "",
		store.Step{Kind: store.StepWait, Seconds: 3600},
		store.Step{Kind: store.StepWait, Seconds: 7200},
		store.Step{Kind: store.StepAddTag, Tag: "done"})
	ann := f.contact(t, "ann@example.com", false)
	if _, err := f.e.Enroll(ctx, a.ID, []int64{ann}, "api"); err != nil {
		t.Fatal(err)
	}
	f.drain(t)
	flow := store.Flow{Steps: []store.Step{a.Flow.Steps[1], a.Flow.Steps[2]}}
	_, err := f.e.Update(ctx, a.ID, store.AutomationInput{Flow: &flow})
	var ve *store.ValidationError
	if !asValidation(err, &ve) || !strings.Contains(ve.Fields["move.1"], "1 contacts wait at step 1") {
		t.Fatalf("got %v, want a refusal naming step 1", err)
	}
	if _, err := f.e.Update(ctx, a.ID, store.AutomationInput{Flow: &flow, MoveFrom: map[int64]int64{1: 3}}); err != nil {
		t.Fatal(err)
	}
	f.drain(t)
	j, got := f.outcomes(t, a, ann)
	if want := []string{"0:entered", "1:moved", "3:done", "3:completed"}; fmt.Sprint(got) != fmt.Sprint(want) || j.Status != store.JourneyCompleted {
		t.Fatalf("got %v %s, want %v completed", got, j.Status, want)
	}
}

// TestActivationNamesWhatIsMissing: a draft with an empty branch and an
// email template that does not render is refused, naming both.
func TestActivationNamesWhatIsMissing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	tname, kind, format, subject, body := "Broken", store.KindCampaign, "markdown", "Hi", "Hello {{.Contact.Nope}}"
	broken, err := f.st.CreateTemplate(ctx, store.TemplateInput{Name: &tname, Kind: &kind, Format: &format, Subject: &subject, Body: &body}, nil)
	if err != nil {
		t.Skipf("the template store refused it already: %v", err)
	}
	rule := store.Rule{Match: "all", Conditions: []store.Rule{{Field: "attributes.city", Op: "eq", Value: json.RawMessage(`"Paris"`)}}}
	name := "Draft"
	flow := store.Flow{Steps: []store.Step{{Kind: store.StepEmail, TemplateID: broken.ID},
		{Kind: store.StepCondition, Rule: &rule, Branches: [][]store.Step{{{Kind: store.StepExit}}, {}}}}}
	a, err := f.e.Create(ctx, store.AutomationInput{Name: &name, Flow: &flow})
	if err != nil {
		t.Fatal(err)
	}
	errs, err := f.e.Check(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errs["step 2 branch 2"], `"No" branch`) || !strings.Contains(errs["step 1"], "unknown field .Contact.Nope") {
		t.Fatalf("got %v, want the empty No branch and the email that does not render", errs)
	}
	if _, err := f.e.Activate(ctx, a.ID); err == nil {
		t.Fatal("activated a flow with an empty branch")
	}
}

func asValidation(err error, ve **store.ValidationError) bool {
	v, ok := err.(*store.ValidationError)
	*ve = v
	return ok
}

// TestOpenAndClickTriggers: a person's open of a campaign starts the
// automation that watches its opens; a click on the one link another
// watches starts that one; a mail scanner's open starts nothing.
func TestOpenAndClickTriggers(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	welcome := f.automation(t, store.Trigger{Kind: store.TriggerManual}, store.Entry{}, "", store.Step{Kind: store.StepEmail, TemplateID: f.template.ID})
	ann, bob := f.contact(t, "ann@example.com", false), f.contact(t, "bob@example.com", false)
	if _, err := f.e.Enroll(ctx, welcome.ID, []int64{ann, bob}, "api"); err != nil {
		t.Fatal(err)
	}
	f.drain(t)
	campaigns, err := f.st.StepCampaigns(ctx, welcome.ID)
	if err != nil || campaigns[1] == 0 {
		t.Fatalf("step campaigns: %v %v", campaigns, err)
	}
	c := campaigns[1]
	opened := f.automation(t, store.Trigger{Kind: store.TriggerOpen, CampaignID: c}, store.Entry{}, "", store.Step{Kind: store.StepAddTag, Tag: "opened"})
	sends, _, err := f.st.CampaignSends(ctx, c, "", store.Order{}, 10, 0)
	if err != nil || len(sends) != 2 {
		t.Fatalf("sends: %v %v", sends, err)
	}
	w := f.st.NewHitWriter(func(err error) { t.Error(err) })
	run(t, w)
	for _, sd := range sends {
		// Bob's open is a mail scanner's: it counts, but starts nothing.
		if err := w.Record(ctx, store.Hit{Kind: store.ResultOpen, At: f.clock.Now(), CampaignID: c, SendID: sd.ID, Machine: sd.ContactID == bob}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Sync(ctx); err != nil { // opens start automations as they are folded into the counts
		t.Fatal(err)
	}
	f.drain(t)
	if got := tagsOf(t, f.st, ann); fmt.Sprint(got) != "[opened]" {
		t.Errorf("ann: got tags %v, want [opened]", got)
	}
	if got := tagsOf(t, f.st, bob); len(got) != 0 {
		t.Errorf("bob: got tags %v, want none (a scanner's open)", got)
	}
	if a, _ := f.st.Automation(ctx, opened.ID); a.Entered != 1 {
		t.Errorf("got %d entered on open, want 1", a.Entered)
	}
	// Clicks: only the link the trigger names starts it.
	f.automation(t, store.Trigger{Kind: store.TriggerClick, CampaignID: c, URL: "https://shop.example/sale"}, store.Entry{}, "",
		store.Step{Kind: store.StepAddTag, Tag: "clicked sale"})
	sale, err := f.st.LinkID(ctx, c, 0, "https://shop.example/sale")
	if err != nil {
		t.Fatal(err)
	}
	other, err := f.st.LinkID(ctx, c, 0, "https://shop.example/about")
	if err != nil {
		t.Fatal(err)
	}
	for _, sd := range sends {
		link := other
		if sd.ContactID == bob {
			link = sale
		}
		if err := w.Record(ctx, store.Hit{Kind: store.ResultClick, At: f.clock.Now(), CampaignID: c, SendID: sd.ID, LinkID: link}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	f.drain(t)
	if got := tagsOf(t, f.st, bob); fmt.Sprint(got) != "[clicked sale]" {
		t.Errorf("bob: got tags %v, want [clicked sale]", got)
	}
	if got := tagsOf(t, f.st, ann); fmt.Sprint(got) != "[opened]" {
		t.Errorf("ann clicked another link: got tags %v, want [opened] only", got)
	}
}

// TestDateTriggersAcrossDSTChanges: a birthday at a time the clock change
// skips (Paris, spring) or repeats (New York, autumn), or on a normal day
// across either change, fires once, at the contact's local time, and not
// again when the clock is moved on a day; the next is a year later.
func TestDateTriggersAcrossDSTChanges(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, zone, birthday, at string
		start                    string
		want                     string
	}{
		{"Paris spring, a skipped time", "Europe/Paris", "1990-03-29", "02:30", "2026-03-28T00:00:00Z", "2026-03-29T03:30:00+02:00"},
		{"Paris autumn", "Europe/Paris", "1985-10-25", "09:00", "2026-10-24T00:00:00Z", "2026-10-25T09:00:00+01:00"},
		{"New York spring", "America/New_York", "1970-03-08", "09:00", "2026-03-07T00:00:00Z", "2026-03-08T09:00:00-04:00"},
		{"New York autumn, a repeated time", "America/New_York", "2001-11-01", "01:30", "2026-10-31T00:00:00Z", "2026-11-01T01:30:00-04:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			ctx := context.Background()
			start, _ := time.Parse(time.RFC3339, tc.start)
			f.clock.mu.Lock()
			f.clock.t = start
			f.clock.mu.Unlock()
			a := f.automation(t, store.Trigger{Kind: store.TriggerDate, Attribute: "birthday", Yearly: true, At: tc.at}, store.Entry{Again: true}, "",
				store.Step{Kind: store.StepAddTag, Tag: "birthday"})
			email := "ann@example.com"
			if _, _, err := f.st.CreateContact(ctx, store.ContactInput{Email: &email, Source: "test",
				Attributes: map[string]any{"birthday": tc.birthday, "timezone": tc.zone}}, false); err != nil {
				t.Fatal(err)
			}
			// Three days in ten-minute steps, the engine running at each.
			for range 3 * 24 * 6 {
				f.clock.Advance(10 * time.Minute)
				f.drain(t)
			}
			js, n, err := f.st.Journeys(ctx, a.ID, store.JourneyFilter{}, 10, 0)
			if err != nil || n != 1 {
				t.Fatalf("got %d journeys (%v), want 1", n, err)
			}
			want, _ := time.Parse(time.RFC3339, tc.want)
			if d := js[0].EnteredAt.Sub(want); d < 0 || d > 10*time.Minute {
				t.Errorf("entered at %s, want within ten minutes after %s", js[0].EnteredAt.In(want.Location()), want)
			}
			// The contact is edited (as an import would) on the day: no second
			// journey, and the next date is a year on.
			tags := []string{"x"}
			if _, err := f.st.UpdateContact(ctx, js[0].ContactID, store.ContactInput{Tags: &tags, Attributes: map[string]any{"city": "Lyon"}}); err != nil {
				t.Fatal(err)
			}
			f.drain(t)
			if _, n, _ := f.st.Journeys(ctx, a.ID, store.JourneyFilter{}, 10, 0); n != 1 {
				t.Errorf("got %d journeys after an edit, want still 1", n)
			}
		})
	}
}

// TestSegmentEntryTrigger: contacts already in the segment when the
// automation starts do not enter; one who comes into it does, at the next
// look; one who leaves and comes back enters again when the rules allow.
func TestSegmentEntryTrigger(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	rule := store.Rule{Match: "all", Conditions: []store.Rule{{Field: "attributes.plan", Op: "eq", Value: json.RawMessage(`"gold"`)}}}
	name := "Gold"
	g, err := f.st.CreateSegment(ctx, store.SegmentInput{Name: &name, Rules: &rule})
	if err != nil {
		t.Fatal(err)
	}
	add := func(email, plan string) int64 {
		c, _, err := f.st.CreateContact(ctx, store.ContactInput{Email: &email, Source: "test", Attributes: map[string]any{"plan": plan}}, false)
		if err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	already := add("already@example.com", "gold")
	later := add("later@example.com", "silver")
	a := f.automation(t, store.Trigger{Kind: store.TriggerSegment, SegmentID: g.ID}, store.Entry{Again: true}, "", store.Step{Kind: store.StepAddTag, Tag: "gold welcome"})
	f.drain(t)
	if _, err := f.st.UpdateContact(ctx, later, store.ContactInput{Attributes: map[string]any{"plan": "gold"}}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(SegmentEvery)
	f.drain(t)
	if got := tagsOf(t, f.st, later); fmt.Sprint(got) != "[gold welcome]" {
		t.Errorf("the contact who came in: got tags %v, want [gold welcome]", got)
	}
	if got := tagsOf(t, f.st, already); len(got) != 0 {
		t.Errorf("the contact already in: got tags %v, want none", got)
	}
	// Out and back in: a second journey.
	for _, plan := range []string{"silver", "gold"} {
		if _, err := f.st.UpdateContact(ctx, later, store.ContactInput{Attributes: map[string]any{"plan": plan}}); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(SegmentEvery)
		f.drain(t)
	}
	if _, n, _ := f.st.Journeys(ctx, a.ID, store.JourneyFilter{ContactID: later}, 10, 0); n != 2 {
		t.Errorf("got %d journeys for the contact who came back, want 2", n)
	}
}

// TestOneFailingJourneySparesTheOthers: a journey whose step fails (the
// attribute it sets would take the contact past the most attributes a
// contact has) fails alone, at that step, its tag undone; the others in
// the same batch, which made the same tag, go on.
func TestOneFailingJourneySparesTheOthers(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	rule := store.Rule{Match: "all", Conditions: []store.Rule{{Field: "attributes.vip", Op: "eq", Value: json.RawMessage(`"yes"`)}}}
	a := f.automation(t, store.Trigger{Kind: store.TriggerManual}, store.Entry{}, "",
		store.Step{Kind: store.StepAddTag, Tag: "fresh"},
		store.Step{Kind: store.StepCondition, Rule: &rule, Branches: [][]store.Step{
			{{Kind: store.StepSetAttribute, Attribute: "one_too_many", Value: json.RawMessage(`1`)}},
			{{Kind: store.StepAddTag, Tag: "after"}},
		}})
	var ids []int64
	for i, vip := range []string{"yes", "no", "no"} {
		email := fmt.Sprintf("c%d@example.com", i)
		attrs := map[string]any{"vip": vip}
		if vip == "yes" {
			for k := len(attrs); k < store.MaxAttributes; k++ {
				attrs[fmt.Sprintf("a%d", k)] = k
			}
		}
		c, _, err := f.st.CreateContact(ctx, store.ContactInput{Email: &email, Source: "test", Attributes: attrs}, false)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	if _, err := f.e.Enroll(ctx, a.ID, ids, "api"); err != nil {
		t.Fatal(err)
	}
	f.drain(t)
	j, got := f.outcomes(t, a, ids[0])
	if j.Status != store.JourneyFailed || got[len(got)-1] != "3:failed" || len(tagsOf(t, f.st, ids[0])) != 0 {
		t.Errorf("the VIP: got %v %s, tags %v; want failed at step 3 with its tag undone", got, j.Status, tagsOf(t, f.st, ids[0]))
	}
	for _, id := range ids[1:] {
		j, got := f.outcomes(t, a, id)
		if j.Status != store.JourneyCompleted || fmt.Sprint(tagsOf(t, f.st, id)) != "[after fresh]" {
			t.Errorf("contact %d: got %v %s, tags %v; want completed with both tags", id, got, j.Status, tagsOf(t, f.st, id))
		}
	}
}

// TestAutomationsThatStartEachOtherDoNotLoop: two automations whose steps
// give the tag that starts the other bring a contact back at most once a
// day.
func TestAutomationsThatStartEachOtherDoNotLoop(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	ping := f.automation(t, store.Trigger{Kind: store.TriggerTag, Tag: "ping"}, store.Entry{Again: true}, "",
		store.Step{Kind: store.StepRemoveTag, Tag: "pong"}, store.Step{Kind: store.StepAddTag, Tag: "pong"})
	pong := f.automation(t, store.Trigger{Kind: store.TriggerTag, Tag: "pong"}, store.Entry{Again: true}, "",
		store.Step{Kind: store.StepRemoveTag, Tag: "ping"}, store.Step{Kind: store.StepAddTag, Tag: "ping"})
	email, tags := "ann@example.com", []string{"ping"}
	if _, _, err := f.st.CreateContact(ctx, store.ContactInput{Email: &email, Tags: &tags, Source: "test"}, false); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		f.clock.Advance(time.Minute)
		f.drain(t)
	}
	for _, a := range []store.Automation{ping, pong} {
		if got, _ := f.st.Automation(ctx, a.ID); got.Entered > 1 {
			t.Errorf("%s: entered %d times in 20 minutes, want once", got.Name, got.Entered)
		}
	}
}

// TestARefusedEditLeavesTheEmailAsItWas: a change to an active flow that
// is refused (it drops a step where a contact waits) does not reach the
// email its step sends; one that stands does, for the journeys under way.
func TestARefusedEditLeavesTheEmailAsItWas(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a := f.automation(t, store.Trigger{Kind: store.TriggerManual}, store.Entry{}, "",
		store.Step{Kind: store.StepWait, Seconds: 3600}, store.Step{Kind: store.StepEmail, TemplateID: f.template.ID, Subject: "Original"})
	ann := f.contact(t, "ann@example.com", false)
	if _, err := f.e.Enroll(ctx, a.ID, []int64{ann}, "api"); err != nil {
		t.Fatal(err)
	}
	f.drain(t)
	subject := func() string {
		cs, _ := f.st.StepCampaigns(ctx, a.ID)
		x, err := f.st.Campaign(ctx, cs[2])
		if err != nil {
			t.Fatal(err)
		}
		return x.Subject
	}
	leak := store.Flow{Steps: []store.Step{{ID: 2, Kind: store.StepEmail, TemplateID: f.template.ID, Subject: "Leaked"}}}
	if _, err := f.e.Update(ctx, a.ID, store.AutomationInput{Flow: &leak}); err == nil {
		t.Fatal("dropped a step where a contact waits without saying where they go")
	}
	if got := subject(); got != "Original" {
		t.Fatalf("after a refused change the email's subject is %q, want Original", got)
	}
	keep := store.Flow{Steps: []store.Step{a.Flow.Steps[0], {ID: 2, Kind: store.StepEmail, TemplateID: f.template.ID, Subject: "Better"}}}
	if _, err := f.e.Update(ctx, a.ID, store.AutomationInput{Flow: &keep}); err != nil {
		t.Fatal(err)
	}
	if got := subject(); got != "Better" {
		t.Errorf("after a change that stands the subject is %q, want Better", got)
	}
}

// TestEditingAWaitForAnEventRepointsWhoWaits: contacts waiting at a wait
// for an event follow the step when its event changes.
func TestEditingAWaitForAnEventRepointsWhoWaits(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a := f.automation(t, store.Trigger{Kind: store.TriggerManual}, store.Entry{}, "",
		store.Step{Kind: store.StepWaitEvent, Event: "x", Seconds: 3600, Branches: [][]store.Step{{{Kind: store.StepAddTag, Tag: "came"}}, {{Kind: store.StepExit}}}})
	ann := f.contact(t, "ann@example.com", false)
	if _, err := f.e.Enroll(ctx, a.ID, []int64{ann}, "api"); err != nil {
		t.Fatal(err)
	}
	f.drain(t)
	flow := a.Flow
	flow.Steps[0].Event = "y"
	if _, err := f.e.Update(ctx, a.ID, store.AutomationInput{Flow: &flow}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.RecordEvents(ctx, []store.EventInput{{Email: "ann@example.com", Name: "y"}}); err != nil {
		t.Fatal(err)
	}
	f.drain(t)
	if got := tagsOf(t, f.st, ann); fmt.Sprint(got) != "[came]" {
		t.Errorf("got tags %v, want [came]: the contact waited for the event the step names now", got)
	}
}

// TestDeletingAnAutomationKeepsWhatItSent: the email an automation sent
// stays, in a cancelled campaign named after its step; a send still in
// flight is cancelled, and stays so when its worker hands it back.
func TestDeletingAnAutomationKeepsWhatItSent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a := f.automation(t, store.Trigger{Kind: store.TriggerManual}, store.Entry{}, "", store.Step{Kind: store.StepEmail, TemplateID: f.template.ID})
	ann, bob := f.contact(t, "ann@example.com", false), f.contact(t, "bob@example.com", false)
	if _, err := f.e.Enroll(ctx, a.ID, []int64{ann, bob}, "api"); err != nil {
		t.Fatal(err)
	}
	f.drain(t)
	cs, _ := f.st.StepCampaigns(ctx, a.ID)
	claimed, err := f.st.ClaimSends(ctx, cs[1], 2, time.Minute)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	if err := f.st.RecordOutcomes(ctx, []store.Outcome{{SendID: claimed[0].ID, Status: store.SendSent}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.e.Archive(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.st.DeleteAutomation(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.st.ReleaseSends(ctx, []int64{claimed[1].ID}); err != nil {
		t.Fatal(err)
	}
	x, err := f.st.Campaign(ctx, cs[1])
	if err != nil || x.Status != store.CampaignCancelled || !strings.Contains(x.Name, "automation deleted") || x.AutomationID != 0 {
		t.Fatalf("the step's campaign: %+v (%v), want kept, cancelled, named for the deleted automation", x, err)
	}
	counts, _ := f.st.SendCounts(ctx, cs[1])
	if counts[store.SendSent] != 1 || counts[store.SendCancelled] != 1 || len(counts) != 2 {
		t.Errorf("its sends: %v, want the one sent and the one in flight cancelled", counts)
	}
}
