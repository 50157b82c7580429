package web

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"herald/mailer/smtptest"
)

// browser starts headless Chromium for a test. Without Chromium the test is
// skipped, unless HERALD_BROWSER_TESTS=required (as in CI), when it fails.
func browser(t *testing.T) context.Context {
	t.Helper()
	var path string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("HERALD_BROWSER_TESTS") == "required" {
			t.Fatal("Chromium is required (HERALD_BROWSER_TESTS=required) but not installed: apt-get install chromium")
		}
		t.Skip("Chromium not installed; set HERALD_BROWSER_TESTS=required to make this a failure")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	// Cancelling the allocator waits for the browser process to exit.
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	return ctx
}

// screenshot saves the page to $HERALD_SCREENSHOT_DIR/name.png when that is set.
func screenshot(name string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		dir := os.Getenv("HERALD_SCREENSHOT_DIR")
		if dir == "" {
			return chromedp.Void{}, nil
		}
		png, err := chromedp.FullScreenshot(100)(ctx, t)
		if err != nil {
			return chromedp.Void{}, err
		}
		return chromedp.Void{}, os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
	}
}

// signInAs signs in on Herald's sign-in page at base.
func signInAs(base, email, password string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`#email`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), email),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.sidenav`)),
	)
}

// into runs an action that returns a value and stores the value in dst.
func into[T any](dst *T, a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		v, err := a(ctx, t)
		*dst = v
		return chromedp.Void{}, err
	}
}

// TestBrowserSetupSignInAddRelayAndSendTest clicks through what a new owner
// does first: open the setup link, create the account, sign in, add an SMTP
// relay and send a test email to a real SMTP server on loopback.
func TestBrowserSetupSignInAddRelayAndSendTest(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	sink := smtptest.Start(t, smtptest.Options{Username: "mailer", Password: "relay-pass-123"})
	h := newHarness(t)
	token, err := h.st.NewSetupToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	base := h.ts.URL
	var heading, result, relaysPage string
	var fitsPhone bool
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/setup?token="+token),
		chromedp.WaitVisible(chromedp.CSS(`#email`)),
		screenshot("1-setup"),
		chromedp.SendKeys(chromedp.CSS(`#name`), "Ada Owner"),
		chromedp.SendKeys(chromedp.CSS(`#email`), "ada@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "a very good password"),
		chromedp.SendKeys(chromedp.CSS(`#password_confirm`), "a very good password"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),

		chromedp.WaitVisible(chromedp.CSS(`form[action="/login"]`)),
		screenshot("2-login"),
		chromedp.SendKeys(chromedp.CSS(`#email`), "ada@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "a very good password"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),

		chromedp.WaitVisible(chromedp.CSS(`.sidenav`)),
		into(&heading, chromedp.Text(chromedp.CSS(`h1`))),
		screenshot("3-dashboard"),
		chromedp.Click(chromedp.Search(`//nav[@class="sidenav"]//a[text()="Settings"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#org_name`)),
		chromedp.Click(chromedp.Search(`//nav[@class="tabs"]//a[text()="Sending relays"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.empty-state`)),
		chromedp.Click(chromedp.Search(`//a[text()="Add SMTP relay"]`)),

		chromedp.WaitVisible(chromedp.CSS(`#host`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), "Office relay"),
		chromedp.SendKeys(chromedp.CSS(`#host`), sink.Host()),
		chromedp.SetValue(chromedp.CSS(`#port`), strconv.Itoa(sink.Port())),
		chromedp.SetValue(chromedp.CSS(`#tls`), "none"),
		chromedp.SendKeys(chromedp.CSS(`#username`), "mailer"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "relay-pass-123"),
		screenshot("4-relay-form"),
		chromedp.Click(chromedp.Search(`//button[text()="Save relay"]`)),

		chromedp.WaitVisible(chromedp.CSS(`#test_to`)),
		chromedp.Clear(chromedp.CSS(`#test_to`)),
		chromedp.SendKeys(chromedp.CSS(`#test_to`), "first.reader@example.com"),
		chromedp.Click(chromedp.Search(`//button[text()="Send test email"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#relay-test-result .result-ok`)),
		into(&result, chromedp.Text(chromedp.CSS(`#relay-test-result`))),
		screenshot("5-test-sent"),

		chromedp.Navigate(base+"/settings/relays"),
		chromedp.WaitVisible(chromedp.CSS(`table.table`)),
		into(&relaysPage, chromedp.Text(chromedp.CSS(`table.table`))),

		// On a phone the layout reflows instead of scrolling sideways.
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.Navigate(base+"/settings/relays/new"),
		chromedp.WaitVisible(chromedp.CSS(`#host`)),
		into(&fitsPhone, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`)),
		screenshot("6-phone"),
	)
	if err != nil {
		t.Fatalf("browser flow: %v", err)
	}
	if heading != "Dashboard" {
		t.Errorf("after sign-in: got heading %q, want Dashboard", heading)
	}
	if !strings.Contains(result, "Test email sent to first.reader@example.com") || !strings.Contains(result, "250") {
		t.Errorf("test result: got %q, want success with the server's 250 answer", result)
	}
	if !strings.Contains(relaysPage, "Office relay") || strings.Contains(relaysPage, "relay-pass-123") {
		t.Errorf("relay list: got %q", relaysPage)
	}
	if !fitsPhone {
		t.Errorf("at 390 px wide the relay form is wider than the screen")
	}
	msgs := sink.Wait(1, 10*time.Second)
	if len(msgs) != 1 || len(msgs[0].To) != 1 || msgs[0].To[0] != "first.reader@example.com" || msgs[0].Auth != "mailer" {
		t.Fatalf("SMTP server received %+v, want one authenticated message to first.reader@example.com", msgs)
	}
	if !strings.Contains(string(msgs[0].Data), "Subject: Herald test email via Office relay") {
		t.Errorf("received message lacks the test subject:\n%s", msgs[0].Data)
	}
}
