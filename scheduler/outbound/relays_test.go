package outbound

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"herald/mailer/smtptest"
	"herald/store"
)

// TestRelayOrder is the one rule for which relay mail goes through: the one
// asked for, then every other enabled relay by id; never a disabled one.
func TestRelayOrder(t *testing.T) {
	t.Parallel()
	zeta := store.Relay{ID: 1, Name: "Zeta", Enabled: true}
	alpha := store.Relay{ID: 2, Name: "Alpha", Enabled: true}
	off := store.Relay{ID: 3, Name: "Beta", Enabled: false}
	mid := store.Relay{ID: 4, Name: "Aardvark", Enabled: true}
	// As the store lists them: by name.
	all := []store.Relay{mid, alpha, off, zeta}
	for _, tc := range []struct {
		ask  int64
		want []int64
	}{
		{0, []int64{1, 2, 4}},
		{2, []int64{2, 1, 4}},
		{3, []int64{1, 2, 4}},
		{4, []int64{4, 1, 2}},
		{9, []int64{1, 2, 4}},
	} {
		var got []int64
		for _, r := range relayOrder(all, tc.ask) {
			got = append(got, r.ID)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("relay %d asked for: got %v, want %v", tc.ask, got, tc.want)
		}
	}
	if got := relayOrder([]store.Relay{off}, 0); len(got) != 0 {
		t.Errorf("only a disabled relay: got %v, want none", got)
	}
}

// TestFirstEnabledRelayIsTheSameForEveryKindOfMail stores the relays
// "Zeta" (id 1) and "Alpha" (id 2). A campaign, a transactional message, a
// system email and a test send that name no relay all go through Zeta,
// the first enabled relay, rather than through whichever sorts first by
// name.
func TestFirstEnabledRelayIsTheSameForEveryKindOfMail(t *testing.T) {
	t.Parallel()
	zetaSink, alphaSink := smtptest.Start(t, smtptest.Options{}), smtptest.Start(t, smtptest.Options{})
	st, d, c := dispatchFixture(t, nil, []string{"reader@example.com"})
	ctx := context.Background()
	for _, r := range []struct {
		name string
		srv  *smtptest.Server
	}{{"Zeta", zetaSink}, {"Alpha", alphaSink}} {
		if _, err := st.CreateRelay(ctx, store.RelayInput{Name: r.name, Kind: store.RelaySMTP, Host: r.srv.Host(), Port: r.srv.Port(),
			TLS: store.TLSNone, MaxConnections: 1, Enabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	s := d.s
	if r, err := s.Relay(ctx, 0); err != nil || r.Name != "Zeta" {
		t.Fatalf("the first enabled relay: got %q, %v, want Zeta", r.Name, err)
	}
	if err := d.runCampaign(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	run(t, s.Lane())
	if _, _, err := s.Queue(ctx, MessageRequest{To: Addresses{"buyer@example.com"}, From: "shop@bakery.example", Subject: new("Receipt"), Text: new("Thanks.")}); err != nil {
		t.Fatal(err)
	}
	addOwner(t, st)
	s.NotifyOwners(ctx, "Something to see", "Hello.")
	draft, err := st.CreateCampaign(ctx, store.CampaignInput{Name: new("Draft"), Subject: new("Hello"), Body: new("Hello there."),
		Format: new("markdown"), FromEmail: new("news@bakery.example")})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.TestCampaign(ctx, draft, []string{"tester@example.com"}, 0)
	if err != nil || len(res) != 1 || !res[0].Delivered {
		t.Fatalf("test send: %+v, %v", res, err)
	}
	got := zetaSink.Wait(4, 10*time.Second)
	to := map[string]bool{}
	for _, m := range got {
		to[m.To[0]] = true
	}
	for _, want := range []string{"reader@example.com", "buyer@example.com", "owner@bakery.example", "tester@example.com"} {
		if !to[want] {
			t.Errorf("Zeta did not get the mail to %s; it got %v", want, to)
		}
	}
	if n := alphaSink.Count(); n != 0 {
		t.Errorf("Alpha got %d messages, want none while Zeta is up", n)
	}
}

// TestHelloName names Herald to relays by its public URL's host, never by
// what a URL carries besides.
func TestHelloName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                                   "localhost",
		"https://news.acme.example":          "news.acme.example",
		"https://news.acme.example:8443/x":   "news.acme.example",
		"https://user:pw@news.acme.example/": "news.acme.example",
		"https://[::1]:8443":                 "[IPv6:::1]",
		"http://192.0.2.7:8080":              "[192.0.2.7]",
		"not a url":                          "localhost",
	} {
		if got := helloName(in); got != want {
			t.Errorf("helloName(%q): got %q, want %q", in, got, want)
		}
	}
}

// TestDisabledRelayCarriesNothing disables the relay a campaign and a
// message ask for: the campaign cannot be sent, the message is refused,
// both saying so, and the campaign's choice is marked in its editor.
func TestDisabledRelayCarriesNothing(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	st, d, _ := dispatchFixture(t, nil, []string{"reader@example.com"})
	ctx := context.Background()
	r := sink(t, st, srv, 1)
	in := r.InputOf()
	in.Enabled = false
	if _, err := st.UpdateRelay(ctx, r.ID, in); err != nil {
		t.Fatal(err)
	}
	s := d.s
	l, _ := st.CreateList(ctx, store.ListInput{Name: new("Other")})
	x, err := st.CreateCampaign(ctx, store.CampaignInput{Name: new("Draft"), Subject: new("Hello"), Body: new("Hello there."), Format: new("markdown"),
		FromEmail: new("news@bakery.example"), ListIDs: &[]int64{l.ID}, RelayID: &r.ID})
	if err != nil {
		t.Fatal(err)
	}
	var ve *store.ValidationError
	if err := s.Send(ctx, x.ID); !errors.As(err, &ve) || !strings.Contains(ve.Fields["relay_id"], "is disabled") {
		t.Errorf("sending through a disabled relay: got %v, want a refusal saying it is disabled", err)
	}
	_, _, err = s.Queue(ctx, MessageRequest{To: Addresses{"a@example.com"}, From: "shop@bakery.example", Subject: new("Hi"), Text: new("Hi"), RelayID: &r.ID})
	if !errors.As(err, &ve) || !strings.Contains(ve.Fields["relay_id"], "is disabled") {
		t.Errorf("a message through a disabled relay: got %v, want a refusal saying it is disabled", err)
	}
	if n := srv.Count(); n != 0 {
		t.Errorf("the disabled relay got %d messages", n)
	}
}
