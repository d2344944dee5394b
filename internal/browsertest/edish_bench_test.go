package browsertest

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/trialwatch/trialwatch/web"
)

// edishStudy answers GET .../edish and .../subjects for a generated study
// of n subjects: the API the eDISH page reads, without a database.
func edishStudy(n int) http.Handler {
	rng := rand.New(rand.NewPCG(1, 2))
	logNormal := func(mu, sigma float64) float64 { return math.Exp(mu + sigma*rng.NormFloat64()) }
	arms := []string{"Placebo", "Xanomeline Low Dose", "Xanomeline High Dose"}
	type point struct {
		Subject  string  `json:"subject"`
		Site     string  `json:"site"`
		Arm      string  `json:"arm"`
		ALT      float64 `json:"alt_xuln"`
		AST      float64 `json:"ast_xuln"`
		Tr       float64 `json:"transaminase_xuln"`
		Bili     float64 `json:"bilirubin_xuln"`
		ALP      float64 `json:"alp_xuln"`
		Quadrant string  `json:"quadrant"`
		ALTDate  string  `json:"alt_date"`
	}
	pts := make([]point, n)
	for i := range pts {
		p := point{Subject: fmt.Sprintf("GEN-%05d", i), Site: strconv.Itoa(100 + i%1000), Arm: arms[i%3],
			ALT: logNormal(-0.2, 0.5), AST: logNormal(-0.3, 0.4), Bili: logNormal(-0.8, 0.4), ALP: logNormal(-0.3, 0.3), ALTDate: "2024-02-01"}
		if i%50 == 0 { // a liver injury now and then
			p.ALT *= 6
			p.Bili *= 3
		}
		p.Tr = max(p.ALT, p.AST)
		switch {
		case p.Tr >= 3 && p.Bili >= 2:
			p.Quadrant = "hys-law"
		case p.Tr >= 3:
			p.Quadrant = "temples-corollary"
		case p.Bili >= 2:
			p.Quadrant = "hyperbilirubinemia"
		default:
			p.Quadrant = "normal"
		}
		pts[i] = p
	}
	answer, _ := json.Marshal(map[string]any{"study": "GEN", "x_limit_xuln": 3, "y_limit_xuln": 2, "subjects": pts})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path != "/api/v1/studies/GEN/edish" {
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error": "not found"}`))
			return
		}
		w.Write(answer)
	})
}

// BenchmarkEDISHDraw20000 is the browser test's benchmark mode for the
// eDISH plot: the real page (package web's handler, template and
// edish.js, under the same CSP) over an API answer of 20,000 generated
// subjects, served without sign-in by a test server, drawn by headless
// Chromium at 1280×800. It reports draw-ms, what edish.js measures with
// performance.now() from creating the chart to the end of its first
// render, and page-ms, from the start of navigation to that moment
// (downloading the page, parsing its data, loading the scripts). Goal:
// draw within 1.5 s.
func BenchmarkEDISHDraw20000(b *testing.B) {
	const subjects = 20_000
	if raceEnabled {
		b.Skip("the browser runs in another process: the race detector adds nothing")
	}
	br := NewBrowser(b)
	ui := web.New(edishStudy(subjects))
	mux := http.NewServeMux()
	ui.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/ui/studies/GEN/edish")
	if err != nil {
		b.Fatal(err)
	}
	size, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	var draw, page float64
	for b.Loop() {
		var points int
		var timing []float64
		br.Run(b, chromedp.Navigate(srv.URL+"/ui/studies/GEN/edish"))
		deadline := time.Now().Add(30 * time.Second)
		for {
			br.Run(b, chromedp.Evaluate(`document.documentElement.dataset.edishDrawn ? [Number(document.documentElement.dataset.edishDrawn), performance.now()] : []`, &timing))
			if len(timing) == 2 {
				break
			}
			if time.Now().After(deadline) {
				b.Fatal("the eDISH plot was not drawn within 30 s")
			}
			time.Sleep(5 * time.Millisecond)
		}
		br.Run(b, chromedp.Evaluate(`Chart.getChart(document.getElementById("edish")).data.datasets.reduce((n, ds) => n + ds.data.length, 0)`, &points))
		if points != subjects {
			b.Fatalf("%d points drawn, want %d", points, subjects)
		}
		draw += timing[0]
		page += timing[1] // an upper bound: polled after the drawing
	}
	for _, e := range br.Errors() {
		b.Error(e)
	}
	b.ReportMetric(draw/float64(b.N), "draw-ms")
	b.ReportMetric(page/float64(b.N), "page-ms")
	b.ReportMetric(float64(size)/1e6, "page-MB")
}
