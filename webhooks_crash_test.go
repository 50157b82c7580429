package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"herald/store"
)

// TestKillDuringWebhooksLosesNoEvent runs Herald as its own process, adds
// contacts through its API while an endpoint on loopback is sent their
// contact.created events, kills the process with SIGKILL and starts it
// again. Every contact the API answered for reaches the endpoint, each
// event was committed with its contact, and no event names a contact that
// was not made; an event may come twice (delivery is at least once), with
// the same id.
func TestKillDuringWebhooksLosesNoEvent(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const contacts, workers = 400, 8
	var mu sync.Mutex
	seen := map[string]int{}    // event id → times delivered
	emails := map[string]bool{} // contact emails the endpoint heard of
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p struct {
			ID   string `json:"id"`
			Data struct {
				Email string `json:"email"`
			} `json:"data"`
		}
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		time.Sleep(2 * time.Millisecond) // slow enough to have deliveries in flight at the kill
		mu.Lock()
		seen[p.ID]++
		emails[p.Data.Email] = true
		mu.Unlock()
	}))
	defer receiver.Close()

	bin := herald(t)
	dir, st := ownedData(t, store.General{OrgName: "Shop", Timezone: "UTC", AllowedHosts: []string{"127.0.0.1"}})
	ctx := context.Background()
	url := receiver.URL + "/hooks"
	if _, _, err := st.CreateWebhook(ctx, store.WebhookInput{URL: &url, Events: &[]string{store.EventContactCreated}}, nil); err != nil {
		t.Fatal(err)
	}
	_, key, err := st.CreateAPIKey(ctx, store.NewAPIKey{Name: "crash", Scopes: []string{store.ScopeWrite}, Limits: store.RateLimits{Write: 10000}})
	if err != nil {
		t.Fatal(err)
	}

	cmd, exited, logs, addr := startHerald(t, bin, dir, "")
	waitFor(t, "the server to answer", func() string {
		if res, err := http.Get("http://" + addr + "/healthz"); err == nil {
			res.Body.Close()
			return "up"
		}
		return ""
	})
	var made sync.Map // emails the API answered 201 for
	var answered atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	client := &http.Client{Timeout: 10 * time.Second}
	for w := range workers {
		wg.Go(func() {
			for i := w; i < contacts; i += workers {
				select {
				case <-stop:
					return
				default:
				}
				email := fmt.Sprintf("c%04d@example.com", i)
				body, _ := json.Marshal(map[string]any{"email": email})
				req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/contacts", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+key)
				req.Header.Set("Content-Type", "application/json")
				res, err := client.Do(req)
				if err != nil {
					continue
				}
				res.Body.Close()
				if res.StatusCode == http.StatusCreated {
					made.Store(email, true)
					answered.Add(1)
				}
			}
		})
	}
	waitFor(t, "deliveries under way", func() string {
		mu.Lock()
		defer mu.Unlock()
		if len(seen) >= 100 {
			return fmt.Sprint(len(seen))
		}
		return ""
	})
	cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	close(stop)
	wg.Wait()
	mu.Lock()
	atKill := len(seen)
	mu.Unlock()

	cmd, exited, logs2, _ := startHerald(t, bin, dir, "")
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-exited
		if t.Failed() {
			t.Logf("first run:\n%s\nsecond run:\n%s", logs.String(), logs2.String())
		}
	}()
	want := int(answered.Load())
	waitFor(t, "every answered contact's event", func() string {
		missing := 0
		made.Range(func(k, _ any) bool {
			mu.Lock()
			ok := emails[k.(string)]
			mu.Unlock()
			if !ok {
				missing++
			}
			return true
		})
		if missing == 0 {
			return "all"
		}
		return ""
	})
	mu.Lock()
	defer mu.Unlock()
	twice := 0
	for _, n := range seen {
		if n > 1 {
			twice++
		}
	}
	for e := range emails {
		if _, ok := made.Load(e); !ok && e != "" {
			// Its API answer may have been lost in the kill: it must exist.
			if _, err := st.ContactByEmail(ctx, e); err != nil {
				t.Errorf("an event for %s, which is not a contact", e)
			}
		}
	}
	t.Logf("%d contacts answered; %d events delivered before the kill; %d events in all, %d delivered twice", want, atKill, len(seen), twice)
	if len(seen) < want {
		t.Errorf("events delivered: got %d, want at least %d", len(seen), want)
	}
}
