package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"

	"herald/mailer/smtptest"
	"herald/store"
)

// BenchmarkAutomationThroughBinary measures what an owner meets: 10,000
// contacts put into a flow of tag, email and tag through the running
// binary's API (10 calls of 1,000), from the first call to the last
// journey's end as the API reports it, with Herald's own CPU.
//
//	go test -run X -bench AutomationThroughBinary -benchtime 1x .
func BenchmarkAutomationThroughBinary(b *testing.B) {
	const contacts = 10000
	sink := smtptest.Start(b, smtptest.Options{Discard: true})
	bin := herald(b)
	for b.Loop() {
		b.StopTimer()
		dir, st := ownedData(b, bakery)
		ctx := context.Background()
		sinkRelay(b, st, sink, 4)
		insertContacts(b, st.Path(), contacts, `'r' || x || '@example.com'`, 0)
		tname, kind, format, subject, body := "Welcome", store.KindCampaign, "markdown", "Welcome", "Hello {{.Contact.Email}}"
		tmpl, err := st.CreateTemplate(ctx, store.TemplateInput{Name: &tname, Kind: &kind, Format: &format, Subject: &subject, Body: &body}, nil)
		if err != nil {
			b.Fatal(err)
		}
		key := benchAPIKey(b, st)
		st.Close()
		cmd, exited, _, addr := startHerald(b, bin, dir, "")
		waitUp(b, addr)
		status, out := apiCall(b, addr, key, "POST", "/api/v1/automations", fmt.Sprintf(`{"name": "Welcome", "trigger": {"kind": "manual"}, "flow": {"steps": [
	{"kind": "add_tag", "tag": "new"}, {"kind": "email", "template_id": %d}, {"kind": "add_tag", "tag": "welcomed"}]}}`, tmpl.ID))
		if status != 201 {
			b.Fatalf("create: %d %v", status, out)
		}
		id := int64(out["data"].(map[string]any)["id"].(float64))
		if status, out := apiCall(b, addr, key, "POST", fmt.Sprintf("/api/v1/automations/%d/activate", id), ""); status != 200 {
			b.Fatalf("activate: %d %v", status, out)
		}
		cpu0 := procCPU(b, cmd.Process.Pid)
		b.StartTimer()
		start := time.Now()
		// Put in in no order, as a shop's customers come.
		order := rand.Perm(contacts)
		for c := 0; c < contacts; c += 1000 {
			ids := make([]string, 0, 1000)
			for _, i := range order[c : c+1000] {
				ids = append(ids, fmt.Sprint(i+1))
			}
			body := `{"contact_ids": [` + strings.Join(ids, ",") + `]}`
			if status, out := apiCall(b, addr, key, "POST", fmt.Sprintf("/api/v1/automations/%d/enroll", id), body); status != 200 {
				b.Fatalf("enroll: %d %v", status, out)
			}
		}
		for {
			_, out := apiCall(b, addr, key, "GET", fmt.Sprintf("/api/v1/automations/%d", id), "")
			if done, _ := out["data"].(map[string]any)["completed"].(float64); done >= contacts {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		took := time.Since(start)
		b.StopTimer()
		cpu := procCPU(b, cmd.Process.Pid) - cpu0
		b.ReportMetric(contacts/took.Seconds(), "contacts/s")
		b.ReportMetric(float64(cpu.Microseconds())/contacts, "server-cpu-µs/contact")
		cmd.Process.Signal(syscall.SIGTERM)
		<-exited
		b.StartTimer()
	}
}

// benchAPIKey makes a full-scope API key whose rate limits a benchmark
// does not reach.
func benchAPIKey(b *testing.B, st *store.Store) string {
	_, key, err := st.CreateAPIKey(context.Background(), store.NewAPIKey{Name: "bench", Scopes: []string{store.ScopeFull},
		Limits: store.RateLimits{Write: 10000, Read: 10000}})
	if err != nil {
		b.Fatal(err)
	}
	return key
}
