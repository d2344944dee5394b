package browsertest

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

const study = "/ui/studies/CDISCPILOT01"

// TestTriageAFinding: a monitor acknowledges a new finding from the queue,
// closes it with a reason from its page, sees both steps in its history
// and then in the audit trail.
func TestTriageAFinding(t *testing.T) {
	d, b := setup(t)
	b.SignIn(t, d, d.Users["monitor"])
	var id string
	var ok bool
	b.Run(t, chromedp.Navigate(d.URL+study+"/findings?status=new&sort=severity&limit=25"),
		chromedp.WaitVisible("#review input.pick", chromedp.ByQuery),
		chromedp.AttributeValue("#review input.pick", "value", &id, &ok, chromedp.ByQuery))
	if !ok || id == "" {
		t.Fatal("the queue has no finding to tick")
	}
	b.CheckPage(t, "findings queue")
	var summary string
	b.Run(t,
		chromedp.Click(`#review input.pick[value="`+id+`"]`, chromedp.ByQuery),
		chromedp.Click(`button[value="acknowledged"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#done-h", chromedp.ByID),
		chromedp.Text("h1", &summary, chromedp.ByQuery))
	if !strings.Contains(summary, "1 finding acknowledged") {
		t.Errorf("acknowledging finding %s: the page says %q", id, summary)
	}
	b.CheckPage(t, "review result")

	const reason = "Lab error confirmed by the site"
	var status, history string
	b.Run(t, chromedp.Navigate(d.URL+study+"/findings/"+id),
		chromedp.WaitVisible("#reason", chromedp.ByID))
	b.CheckPage(t, "finding page")
	b.Run(t,
		chromedp.SendKeys("#reason", reason, chromedp.ByID),
		chromedp.Click(`button[value="closed"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#done-h", chromedp.ByID),
		chromedp.Navigate(d.URL+study+"/findings/"+id),
		chromedp.WaitVisible("#hist-h", chromedp.ByID),
		chromedp.Text("dl.facts", &status, chromedp.ByQuery),
		chromedp.Text("#hist-h + table", &history, chromedp.ByQuery))
	if !strings.Contains(status, "closed ("+reason+")") {
		t.Errorf("finding %s after closing: %q", id, status)
	}
	for _, want := range []string{"new → acknowledged", "acknowledged → closed", reason, "monitor"} {
		if !strings.Contains(history, want) {
			t.Errorf("finding %s's history lacks %q:\n%s", id, want, history)
		}
	}

	var trail string
	var rows int
	b.Run(t, chromedp.Navigate(d.URL+study+"/audit?entity=signal&entity_id="+id),
		chromedp.WaitVisible("table.audit", chromedp.ByQuery),
		chromedp.Text("table.audit tbody", &trail, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll("table.audit tbody tr").length`, &rows))
	if rows != 2 || !strings.Contains(trail, "acknowledged") || !strings.Contains(trail, "closed") || !strings.Contains(trail, reason) {
		t.Errorf("the audit trail of finding %s has %d rows:\n%s", id, rows, trail)
	}
	b.CheckPage(t, "audit trail")
}

// TestUploadShowsWhereEachProblemIs: a site user uploads an LB file with
// a bad value and sees its file, line and column; then a good one and
// what it stored.
func TestUploadShowsWhereEachProblemIs(t *testing.T) {
	d, b := setup(t)
	b.SignIn(t, d, d.Users["site"])
	dir := t.TempDir()
	bad := filepath.Join(dir, "lb-bad.csv")
	good := filepath.Join(dir, "lb-good.csv")
	writeFile(t, bad, lbHeader+lbRow(9001, "38")+lbRow(9002, "abc"))
	writeFile(t, good, lbHeader+lbRow(9003, "38"))

	b.Run(t, chromedp.Navigate(d.URL+study+"/uploads"), chromedp.WaitVisible("#files", chromedp.ByID))
	b.CheckPage(t, "uploads")
	var problems string
	b.Run(t,
		chromedp.SetUploadFiles("#files", []string{bad}, chromedp.ByID),
		chromedp.Click("#send", chromedp.ByID),
		chromedp.WaitVisible("#result table", chromedp.ByQuery),
		chromedp.Text("#result", &problems, chromedp.ByID))
	for _, want := range []string{"Nothing stored", "lb-bad.csv", "line 3", "LBSTRESN", `"abc" is not a number`} {
		if !strings.Contains(problems, want) {
			t.Errorf("the problems shown lack %q:\n%s", want, problems)
		}
	}
	b.CheckPage(t, "upload problems")

	var stored string
	b.Run(t,
		chromedp.SetUploadFiles("#files", []string{good}, chromedp.ByID),
		chromedp.Click("#send", chromedp.ByID),
		chromedp.Poll(`document.querySelector("#result h2") && document.querySelector("#result h2").textContent === "Stored"`, nil,
			chromedp.WithPollingTimeout(30*time.Second)),
		chromedp.Text("#result", &stored, chromedp.ByID))
	if !strings.Contains(stored, "lb-good.csv") || !strings.Contains(stored, "LB\t1\t0\t0") && !strings.Contains(stored, "LB 1 0 0") {
		t.Errorf("a good upload shows:\n%q", stored)
	}
	var progress int
	b.Run(t, chromedp.Evaluate(`document.getElementById("progress").value`, &progress))
	if progress != 100 {
		t.Errorf("the progress bar ends at %d%%", progress)
	}
	b.CheckPage(t, "upload stored")

	// Dropped files are sent like chosen ones.
	content, _ := json.Marshal(lbHeader + lbRow(9004, "x"))
	var dropped string
	b.Run(t,
		chromedp.Evaluate(`(() => {
			const dt = new DataTransfer();
			dt.items.add(new File([`+string(content)+`], "dropped.csv", {type: "text/csv"}));
			document.getElementById("drop").dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
		})()`, nil),
		chromedp.Click("#send", chromedp.ByID),
		chromedp.Poll(`document.querySelector("#result td") && document.querySelector("#result td").textContent === "dropped.csv"`, nil,
			chromedp.WithPollingTimeout(30*time.Second)),
		chromedp.Text("#result", &dropped, chromedp.ByID))
	if !strings.Contains(dropped, "LBSTRESN") {
		t.Errorf("a dropped file's problems:\n%s", dropped)
	}
}

// TestOperationsPage: ops lands on the operations page, whose plot draws
// the process's goroutines.
func TestOperationsPage(t *testing.T) {
	d, b := setup(t)
	b.SignIn(t, d, d.Users["ops"])
	var url, status string
	var points int
	b.Run(t, chromedp.Location(&url),
		chromedp.WaitVisible("#ops-plot", chromedp.ByID),
		chromedp.Text("#wd-h + dl dd", &status, chromedp.ByQuery),
		chromedp.Poll(`Chart.getChart(document.getElementById("ops-plot")) ? Chart.getChart(document.getElementById("ops-plot")).data.datasets[0].data.length : 0`,
			&points, chromedp.WithPollingTimeout(10*time.Second)))
	if !strings.HasSuffix(url, "/ui/ops") {
		t.Errorf("ops landed on %s", url)
	}
	if points < 1 || status == "" {
		t.Errorf("the plot has %d points; the watchdog's status is %q", points, status)
	}
	b.CheckPage(t, "operations")
}

// TestOverviewRemembersTheLastVisit: the site table lists the pilot's
// sites, and a visit after an hour away says what changed.
func TestOverviewRemembersTheLastVisit(t *testing.T) {
	d, b := setup(t)
	b.SignIn(t, d, d.Users["monitor"])
	// The demo computes the KRIs, which list the sites, once its checks
	// are done: until then the page says so.
	var sites int
	for deadline := time.Now().Add(90 * time.Second); sites == 0 && time.Now().Before(deadline); {
		b.Run(t, chromedp.Navigate(d.URL+study+"/"),
			chromedp.Evaluate(`document.querySelectorAll("table.sites tbody tr").length`, &sites))
		if sites == 0 {
			time.Sleep(500 * time.Millisecond)
		}
	}
	if sites < 2 {
		t.Errorf("the site table has %d rows", sites)
	}
	// An hour ago, as the cookie remembers it; the checks of the demo's
	// load all raised their findings since.
	hourAgo := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	var changes string
	b.Run(t,
		chromedp.ActionFunc(func(ctx context.Context) error {
			return network.SetCookie("tw_visits", hourAgo).WithURL(d.URL + study + "/").WithPath(study + "/").Do(ctx)
		}),
		chromedp.Navigate(d.URL+study+"/"),
		chromedp.WaitVisible("#changes-h", chromedp.ByID),
		chromedp.Text("#changes-h", &changes, chromedp.ByID))
	if !strings.Contains(changes, "Since your last visit") {
		t.Errorf("the changes say %q", changes)
	}
	b.CheckPage(t, "overview with changes")
}

// TestNarrowWindow: the pages fit a phone's width; wide tables scroll in
// their own box.
func TestNarrowWindow(t *testing.T) {
	d, b := setup(t)
	b.SignIn(t, d, d.Users["monitor"])
	b.Run(t, chromedp.EmulateViewport(375, 740))
	for _, page := range []string{study + "/", study + "/findings", study + "/findings/1", study + "/audit"} {
		var overflow bool
		b.Run(t, chromedp.Navigate(d.URL+page), chromedp.WaitVisible("main", chromedp.ByQuery),
			chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth + 1`, &overflow))
		if overflow {
			t.Errorf("%s is wider than a 375 px window", page)
		}
		b.CheckPage(t, page+" at 375 px")
	}
}

const lbHeader = `"STUDYID","DOMAIN","USUBJID","LBSEQ","LBTESTCD","LBTEST","LBCAT","LBORRES","LBORRESU","LBORNRLO","LBORNRHI","LBSTRESC","LBSTRESN","LBSTRESU","LBSTNRLO","LBSTNRHI","LBNRIND","LBBLFL","VISITNUM","VISIT","VISITDY","LBDTC","LBDY"
`

// lbRow is an albumin result of subject 01-701-1015 (site 701).
func lbRow(seq int, stresn string) string {
	return `"CDISCPILOT01","LB","01-701-1015",` + strconv.Itoa(seq) + `,"ALB","Albumin","CHEMISTRY","3.8","g/dL","3.3","4.9","38","` + stresn +
		`","g/L",33,49,"NORMAL","",99,"UNSCHEDULED",400,"2014-06-01T10:00",400` + "\n"
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestKeyboardReachesTheReview: from the top of the findings queue, Tab
// reaches the skip link first, then every filter, a finding's box (Space
// ticks it) and the review buttons, without a mouse.
func TestKeyboardReachesTheReview(t *testing.T) {
	d, b := setup(t)
	b.SignIn(t, d, d.Users["monitor"])
	b.Run(t, chromedp.Navigate(d.URL+study+"/findings?status=new&limit=25"), chromedp.WaitVisible("#review", chromedp.ByID))
	var seen []string
	ticked := false
	for i := 0; i < 200; i++ {
		var el string
		b.Run(t, chromedp.KeyEvent(kb.Tab), chromedp.Evaluate(`(() => { const e = document.activeElement;
			return e.tagName.toLowerCase() + ":" + (e.id || e.className || e.getAttribute("value") || e.textContent.trim()) })()`, &el))
		seen = append(seen, el)
		if el == "input:pick" && !ticked {
			var checked bool
			b.Run(t, chromedp.KeyEvent(" "), chromedp.Evaluate(`document.activeElement.checked`, &checked))
			if !checked {
				t.Error("Space on a finding's box did not tick it")
			}
			ticked = true
		}
		if el == "button:closed" {
			break
		}
	}
	if len(seen) == 0 || seen[0] != "a:skip" {
		t.Errorf("the first Tab stop is %q, want the skip link", seen)
	}
	for _, want := range []string{"select:f-rule", "input:f-subject", "select:f-sort", "input:select-all", "input:pick", "textarea:reason",
		"button:acknowledged", "button:closed"} {
		if !slices.Contains(seen, want) {
			t.Errorf("Tab never reached %q; it went %v", want, seen)
		}
	}
}
