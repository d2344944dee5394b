package browsertest

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

const pilot = "/ui/studies/CDISCPILOT01"

// apiGet decodes an API answer as user u into v.
func apiGet(t *testing.T, d *Demo, u User, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", d.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+u.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s as %s: %d", path, u.Name, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// open navigates to a page of the UI and waits until its plots are drawn
// (every canvas has a chart, or has none to draw) or ready is true.
func (b *Browser) open(t *testing.T, d *Demo, path string) {
	t.Helper()
	b.Run(t, chromedp.Navigate(d.URL+path), chromedp.WaitReady("body", chromedp.ByQuery))
	b.waitFor(t, `document.readyState === "complete"`)
}

// waitFor polls a JavaScript condition until it holds, for 30 seconds; an
// evaluation that fails (the page navigating meanwhile) counts as false.
func (b *Browser) waitFor(t *testing.T, cond string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var ok bool
		ctx, cancel := context.WithTimeout(b.Ctx, 5*time.Second)
		err := chromedp.Run(ctx, chromedp.Evaluate(`!!(`+cond+`)`, &ok))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 30s for %s", cond)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// screenshot keeps a picture of the page in $TRIALWATCH_SCREENSHOTS, if
// set: for a person to look at, not for the test.
func (b *Browser) screenshot(t *testing.T, name string) {
	dir := os.Getenv("TRIALWATCH_SCREENSHOTS")
	if dir == "" {
		return
	}
	var png []byte
	b.Run(t, chromedp.FullScreenshot(&png, 100))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Log(err)
	}
}

// waitKRIs waits until the demo computed the pilot's KRIs, which it does
// after loading it.
func waitKRIs(t *testing.T, d *Demo, u User) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		req, _ := http.NewRequest("GET", d.URL+"/api/v1/studies/CDISCPILOT01/kris", nil)
		req.Header.Set("Authorization", "Bearer "+u.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pilot's KRIs were not computed within a minute: %d", resp.StatusCode)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The plot pages share one demo and one browser: the demo takes seconds
// to load the pilot.
func TestPlotPages(t *testing.T) {
	d, b := setup(t)
	monitor, site := d.Users["monitor"], d.Users["site"]
	b.SignIn(t, d, monitor)

	t.Run("eDISH draws every subject, 01-705-1186 in the upper right", func(t *testing.T) {
		var api struct {
			Subjects []struct {
				Subject string `json:"subject"`
			} `json:"subjects"`
		}
		apiGet(t, d, monitor, "/api/v1/studies/CDISCPILOT01/edish", &api)
		b.open(t, d, pilot+"/edish")
		b.waitFor(t, `document.documentElement.dataset.edishDrawn`)
		var got struct {
			Points  int
			Target  []float64 // the subject's point and the lines, in pixels
			Present bool
		}
		b.Run(t, chromedp.Evaluate(`(() => {
  const c = Chart.getChart(document.getElementById("edish"));
  let points = 0, target = null, present = false;
  const subjects = JSON.parse(document.getElementById("plot-data").textContent).points;
  c.data.datasets.forEach((ds, i) => {
    points += ds.data.length;
    ds.data.forEach((p, j) => {
      if (subjects[p.i].s === "01-705-1186") {
        const el = c.getDatasetMeta(i).data[j];
        const a = c.chartArea;
        target = [el.x, el.y, c.scales.x.getPixelForValue(3), c.scales.y.getPixelForValue(2), a.left, a.right, a.top, a.bottom];
        present = true;
      }
    });
  });
  return {Points: points, Target: target, Present: present};
})()`, &got))
		if got.Points != len(api.Subjects) || got.Points == 0 {
			t.Errorf("eDISH draws %d points, the API answers %d subjects", got.Points, len(api.Subjects))
		}
		if !got.Present {
			t.Fatal("01-705-1186 is not on the eDISH plot")
		}
		// Pixels: right of the 3×ULN line and above (smaller y) the 2×ULN one.
		// Pixels: right of the 3×ULN line and above (smaller y) the 2×ULN
		// one, all inside the plot's area.
		x, y, x3, y2 := got.Target[0], got.Target[1], got.Target[2], got.Target[3]
		left, right, top, bottom := got.Target[4], got.Target[5], got.Target[6], got.Target[7]
		inside := func(px, py float64) bool { return px >= left && px <= right && py >= top && py <= bottom }
		if x <= x3 || y >= y2 || !inside(x, y) || !inside(x3, y2) {
			t.Errorf("01-705-1186 at (%.0f, %.0f) px, the lines at x=%.0f and y=%.0f, the plot's area %.0f–%.0f × %.0f–%.0f: not in the upper right",
				x, y, x3, y2, left, right, top, bottom)
		}
		b.CheckPage(t, "eDISH")
		b.screenshot(t, "edish")
		// Every control redraws without an error; mDISH only where enabled.
		b.Run(t, chromedp.SetValue("#edish-colour", "rc", chromedp.ByID),
			chromedp.Evaluate(`document.getElementById("edish-colour").dispatchEvent(new Event("change"))`, nil),
			chromedp.SetValue("#edish-x", "ast", chromedp.ByID),
			chromedp.Evaluate(`document.getElementById("edish-x").dispatchEvent(new Event("change"))`, nil))
		var status string
		b.Run(t, chromedp.Text("#edish-status", &status, chromedp.ByID))
		if !strings.Contains(status, "subjects on the eDISH plot") {
			t.Errorf("status after switching to AST: %q", status)
		}
		b.CheckPage(t, "eDISH, AST by R ratio")

		// A point opens its subject.
		var url string
		b.Run(t, chromedp.Evaluate(`(() => {
  const c = Chart.getChart(document.getElementById("edish"));
  const el = c.getDatasetMeta(0).data[0];
  const r = c.canvas.getBoundingClientRect();
  // After this evaluation returns: the click navigates away.
  setTimeout(() => c.canvas.dispatchEvent(new MouseEvent("click", {clientX: r.left + el.x, clientY: r.top + el.y, bubbles: true})), 0);
})()`, nil))
		b.waitFor(t, `location.pathname.includes("/subjects/")`)
		b.Run(t, chromedp.Location(&url))
		if !strings.Contains(url, pilot+"/subjects/") {
			t.Errorf("clicking a point opened %s", url)
		}
	})

	t.Run("the keyboard reaches a subject from eDISH", func(t *testing.T) {
		b.open(t, d, pilot+"/edish")
		// Open the table with Enter, tab past its scrollable region to the
		// first subject, and open it with Enter.
		var focused string
		b.Run(t, chromedp.Focus("#edish-table-toggle", chromedp.ByID), chromedp.KeyEvent("\r"),
			chromedp.KeyEvent("\t"), chromedp.KeyEvent("\t"),
			chromedp.Evaluate(`document.activeElement.getAttribute("href") || ""`, &focused))
		if !strings.Contains(focused, "/subjects/") {
			t.Fatalf("two tabs into the opened table focus %q, not a subject", focused)
		}
		b.Run(t, chromedp.KeyEvent("\r"))
		b.waitFor(t, `location.pathname.endsWith("`+focused[strings.LastIndex(focused, "/"):]+`")`)
	})

	t.Run("a funnel plot draws one mark per site", func(t *testing.T) {
		waitKRIs(t, d, monitor)
		b.open(t, d, pilot+"/kris")
		b.waitFor(t, `[...document.querySelectorAll("canvas[data-kri]")].every(c => Chart.getChart(c))`)
		var got map[string]int // KRI → site marks
		b.Run(t, chromedp.Evaluate(`Object.fromEntries([...document.querySelectorAll("canvas[data-kri]")].map(c =>
  [c.dataset.kri, Chart.getChart(c).data.datasets.filter(ds => ds.twSites).reduce((n, ds) => n + ds.data.length, 0)]))`, &got))
		if len(got) == 0 {
			t.Fatal("no funnel plot")
		}
		for kri, marks := range got {
			var api struct {
				Sites []struct{ Site string } `json:"sites"`
			}
			apiGet(t, d, monitor, "/api/v1/studies/CDISCPILOT01/kris/"+kri, &api)
			if marks != len(api.Sites) || marks == 0 {
				t.Errorf("%s: %d marks, the API answers %d sites", kri, marks, len(api.Sites))
			}
		}
		b.CheckPage(t, "site KRIs")
		b.screenshot(t, "kris")
		b.open(t, d, pilot+"/sites/701")
		var streaks int
		b.Run(t, chromedp.Evaluate(`document.querySelectorAll("p.streak").length`, &streaks))
		if streaks != len(got) {
			t.Errorf("site page: %d KRIs say how often they were flagged in a row, want %d", streaks, len(got))
		}
		b.CheckPage(t, "site 701")
		b.screenshot(t, "site")
	})

	t.Run("subject list and subject page", func(t *testing.T) {
		b.open(t, d, pilot+"/subjects?sort=open")
		var rows int
		b.Run(t, chromedp.Evaluate(`document.querySelectorAll("#subjects tbody tr").length`, &rows))
		if rows == 0 {
			t.Error("the subject list is empty")
		}
		b.CheckPage(t, "subject list")
		b.open(t, d, pilot+"/subjects/01-705-1186")
		b.waitFor(t, `[...document.querySelectorAll("canvas")].every(c => Chart.getChart(c) || c.closest("[hidden]"))`)
		var got struct {
			Plots, Tests, Highlighted, Bands int
		}
		b.Run(t, chromedp.Evaluate(`(() => {
  const data = JSON.parse(document.getElementById("plot-data").textContent);
  const charts = data.tests.map(t => Chart.getChart(document.getElementById(t.id))).filter(Boolean);
  return {Plots: charts.length, Tests: data.tests.filter(t => t.points.length).length,
    Highlighted: charts.reduce((n, c) => n + c.data.datasets.find(ds => ds.label === "Behind a finding").data.length, 0),
    Bands: charts.filter(c => c.options.plugins.twBands.bands.length).length};
})()`, &got))
		if got.Plots != got.Tests || got.Plots == 0 || got.Highlighted == 0 || got.Bands == 0 {
			t.Errorf("subject page: %d plots for %d tests with values, %d results highlighted, %d plots with grade bands", got.Plots, got.Tests, got.Highlighted, got.Bands)
		}
		b.CheckPage(t, "subject page")
		b.screenshot(t, "subject")
	})

	t.Run("narrow window", func(t *testing.T) {
		b.Run(t, emulation.SetDeviceMetricsOverride(390, 844, 1, true))
		defer b.Run(t, emulation.ClearDeviceMetricsOverride())
		for _, path := range []string{"/subjects", "/subjects/01-705-1186", "/edish", "/kris", "/sites/701"} {
			b.open(t, d, pilot+path)
			var overflow bool
			b.Run(t, chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth + 1`, &overflow))
			if overflow {
				t.Errorf("%s scrolls sideways in a 390 px window", path)
			}
			b.CheckPage(t, path+", narrow")
		}
		b.screenshot(t, "site-narrow")
	})

	t.Run("a site user cannot reach another site's subject", func(t *testing.T) {
		b.Run(t, chromedp.Navigate(d.URL+pilot+"/"), chromedp.Click(`form.signout button`, chromedp.ByQuery), chromedp.WaitVisible("#user", chromedp.ByID))
		b.SignIn(t, d, site)
		b.open(t, d, pilot+"/subjects")
		var sites []string
		b.Run(t, chromedp.Evaluate(`[...new Set([...document.querySelectorAll("#subjects tbody tr td:nth-child(2)")].map(td => td.textContent))]`, &sites))
		if len(sites) != 1 || sites[0] != "701" {
			t.Errorf("the site user's subject list shows sites %v, want only 701", sites)
		}
		var others int
		b.Run(t, chromedp.Evaluate(`[...document.querySelectorAll("a")].filter(a => a.pathname.includes("/subjects/01-7") && !a.pathname.includes("/subjects/01-701-")).length`, &others))
		if others != 0 {
			t.Errorf("the site user's pages link to %d subjects of other sites", others)
		}
		b.CheckPage(t, "subject list, site user")
		notFound := func(path string) string {
			var text string
			b.Run(t, chromedp.Navigate(d.URL+path), chromedp.Text("main", &text, chromedp.ByQuery))
			return text
		}
		nowhere := notFound(pilot + "/subjects/01-999-0000")
		other := notFound(pilot + "/subjects/01-705-1186")
		if other != nowhere || !strings.Contains(other, "404") {
			t.Errorf("another site's subject shows %q, a subject that does not exist %q", other, nowhere)
		}
		if site702 := notFound(pilot + "/sites/702"); site702 != notFound(pilot+"/sites/999") || !strings.Contains(site702, "404") {
			t.Errorf("another site's page shows %q", site702)
		}
		b.Errors() // the 404s' console messages
		b.open(t, d, pilot+"/edish")
		b.waitFor(t, `document.documentElement.dataset.edishDrawn`)
		var subjects []string
		b.Run(t, chromedp.Evaluate(`JSON.parse(document.getElementById("plot-data").textContent).points.map(p => p.site)`, &subjects))
		for _, s := range subjects {
			if s != "701" {
				t.Fatalf("the site user's eDISH plot has a subject of site %s", s)
			}
		}
		b.CheckPage(t, "eDISH, site user")
	})
}
