package browsertest

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The demo, its users and one browser are shared by the page tests: the
// demo takes seconds to load the pilot.
func setup(t *testing.T) (*Demo, *Browser) {
	if testing.Short() {
		t.Skip("starts the demo and a browser; skipped with -short")
	}
	if raceEnabled {
		t.Skip("the browser tests drive a separate process: the race detector adds nothing but time")
	}
	b := NewBrowser(t)
	return StartDemo(t), b
}

func TestSignInAsEachRole(t *testing.T) {
	d, b := setup(t)
	want := map[string]string{ // where each role lands
		"monitor": "/ui/studies/CDISCPILOT01/",
		"site":    "/ui/studies/CDISCPILOT01/",
		"admin":   "/ui/", // every study: the start page asks which
		"ops":     "/ui/ops",
	}
	for _, role := range []string{"monitor", "site", "admin", "ops"} {
		u := d.Users[role]
		b.Run(t, chromedp.Navigate(d.URL+"/ui/login"))
		b.CheckPage(t, "login page")
		b.SignIn(t, d, u)
		var url, who string
		b.Run(t, chromedp.Location(&url), chromedp.Text(".who", &who, chromedp.ByQuery))
		if !strings.HasSuffix(url, want[role]) {
			t.Errorf("%s signed in and landed on %s, want %s", role, url, want[role])
		}
		if !strings.Contains(who, u.Name) {
			t.Errorf("%s signed in, but the page says %q", role, who)
		}
		// Signing out ends the session: the same page now asks to sign in.
		b.Run(t, chromedp.Click(`form.signout button`, chromedp.ByQuery), chromedp.WaitVisible("#user", chromedp.ByID))
		b.Run(t, chromedp.Navigate(d.URL+"/ui/studies/CDISCPILOT01/"), chromedp.WaitVisible("#user", chromedp.ByID), chromedp.Location(&url))
		if !strings.Contains(url, "/ui/login?next=") {
			t.Errorf("%s signed out, then opened a study page at %s, want the login page", role, url)
		}
	}
}

func TestWrongPasswordSaysSo(t *testing.T) {
	d, b := setup(t)
	var msg string
	b.Run(t,
		chromedp.Navigate(d.URL+"/ui/login"),
		chromedp.SendKeys("#user", "monitor", chromedp.ByID),
		chromedp.SendKeys("#password", "not-the-password", chromedp.ByID),
		chromedp.Submit("#password", chromedp.ByID),
		chromedp.Text(`[role="alert"]`, &msg, chromedp.ByQuery),
	)
	if !strings.Contains(msg, "Wrong user name or password") {
		t.Errorf("a wrong password shows %q", msg)
	}
}

func TestOverviewPage(t *testing.T) {
	d, b := setup(t)
	b.SignIn(t, d, d.Users["monitor"])
	var rows int
	b.Run(t, chromedp.Navigate(d.URL+"/ui/studies/CDISCPILOT01/"),
		chromedp.Evaluate(`document.querySelectorAll("table.grid tbody tr").length`, &rows))
	if rows == 0 {
		t.Error("the overview lists no rule")
	}
	b.CheckPage(t, "overview")
}
