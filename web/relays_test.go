package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"herald/mailer/smtptest"
)

func relayForm(name string, port int, password string) url.Values {
	return url.Values{"name": {name}, "host": {"127.0.0.1"}, "port": {fmt.Sprint(port)}, "tls": {"none"},
		"username": {"relayuser"}, "password": {password}, "max_connections": {"2"}, "rate_per_second": {"0"}, "enabled": {"1"}}
}

func TestRelayPagesAddTestEditDelete(t *testing.T) {
	sink := smtptest.Start(t, smtptest.Options{Username: "relayuser", Password: "s3cret-relay-pass"})
	h := newHarness(t)
	h.signIn()
	ctx := context.Background()

	bad := relayForm("", 70000, "")
	bad.Set("tls", "ssl")
	resp := h.postForm("/settings/relays", bad, nil)
	page := body(t, resp)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("invalid relay: got %d, want 422", resp.StatusCode)
	}
	for _, want := range []string{"Give the relay a name", "Port must be between", "TLS must be"} {
		if !strings.Contains(page, want) {
			t.Errorf("invalid relay page lacks %q", want)
		}
	}

	resp = h.postForm("/settings/relays", relayForm("Loopback", sink.Port(), "s3cret-relay-pass"), nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add relay: got %d, want 303: %s", resp.StatusCode, body(t, resp))
	}
	loc := resp.Header.Get("Location")
	page = body(t, h.get(loc))
	if !strings.Contains(page, "Relay Loopback added") || strings.Contains(page, "s3cret-relay-pass") {
		t.Fatalf("relay page: want the flash and no password in the HTML")
	}
	if resp := h.postForm("/settings/relays", relayForm("loopback", sink.Port(), ""), nil); resp.StatusCode != http.StatusConflict {
		t.Fatalf("duplicate name: got %d, want 409", resp.StatusCode)
	}

	resp = h.postForm(loc+"/test", url.Values{"to": {"reader@example.com"}}, map[string]string{"HX-Request": "true"})
	frag := body(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(frag, "Test email sent to reader@example.com") || !strings.Contains(frag, "250") {
		t.Fatalf("test send: got %d %q", resp.StatusCode, frag)
	}
	msgs := sink.Wait(1, 5*time.Second)
	if len(msgs) != 1 || msgs[0].To[0] != "reader@example.com" || msgs[0].Auth != "relayuser" {
		t.Fatalf("sink received %+v, want one message to reader@example.com authenticated as relayuser", msgs)
	}

	// Saving with an empty password keeps the stored one.
	edit := relayForm("Loopback", sink.Port(), "")
	edit.Set("max_connections", "3")
	if resp := h.postForm(loc, edit, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit relay: got %d", resp.StatusCode)
	}
	relays, _ := h.st.Relays(ctx)
	if len(relays) != 1 || relays[0].MaxConnections != 3 || !relays[0].PasswordSet {
		t.Fatalf("after edit: got %+v, want 3 connections and the password kept", relays)
	}
	if pw, _ := h.st.RelayPassword(ctx, relays[0].ID); pw != "s3cret-relay-pass" {
		t.Fatalf("password after edit: got %q", pw)
	}

	if resp := h.postForm(loc+"/delete", url.Values{}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete relay: got %d", resp.StatusCode)
	}
	if relays, _ := h.st.Relays(ctx); len(relays) != 0 {
		t.Fatalf("relays after delete: got %d, want 0", len(relays))
	}
}

func TestRelayTestShowsTheServersRefusal(t *testing.T) {
	sink := smtptest.Start(t, smtptest.Options{Username: "relayuser", Password: "right"})
	h := newHarness(t)
	h.signIn()
	resp := h.postForm("/settings/relays", relayForm("Loopback", sink.Port(), "wrong-password"), nil)
	loc := resp.Header.Get("Location")
	resp = h.postForm(loc+"/test", url.Values{"to": {"reader@example.com"}}, map[string]string{"HX-Request": "true"})
	frag := body(t, resp)
	if !strings.Contains(frag, "not sent") || !strings.Contains(frag, "535") {
		t.Fatalf("failed test send: got %q, want the 535 answer", frag)
	}
	if n := len(sink.Messages()); n != 0 {
		t.Fatalf("sink got %d messages, want 0", n)
	}
	resp = h.postForm(loc+"/test", url.Values{"to": {"not an address"}}, map[string]string{"HX-Request": "true"})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body(t, resp), "valid email address") {
		t.Fatalf("bad test address: got %d, want 422 with a message", resp.StatusCode)
	}
}

func TestRelayFormRefusesNonNumbersAndClearsAnOrphanedPassword(t *testing.T) {
	h := newHarness(t)
	h.signIn()
	bad := relayForm("Odd", 2525, "pw-123")
	bad.Set("rate_per_second", "NaN")
	if resp := h.postForm("/settings/relays", bad, nil); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("NaN rate: got %d, want 422", resp.StatusCode)
	}
	resp := h.postForm("/settings/relays", relayForm("Odd", 2525, "pw-123"), nil)
	loc := resp.Header.Get("Location")
	noLogin := relayForm("Odd", 2525, "")
	noLogin.Set("username", "")
	if resp := h.postForm(loc, noLogin, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("clearing the username: got %d", resp.StatusCode)
	}
	rs, _ := h.st.Relays(context.Background())
	if len(rs) != 1 || rs[0].PasswordSet {
		t.Fatalf("after clearing the username: got %+v, want the password gone too", rs)
	}
}
