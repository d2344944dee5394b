package stackdump

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ReportOptions controls how much of a report is written.
type ReportOptions struct {
	// Top limits the report to the first Top groups or changes; 0 means all.
	Top int
	// Frames is how many frames of each group the text report prints below
	// its summary; 0 prints none (Top and Creator are always shown). The JSON
	// and HTML reports always carry every frame.
	Frames int
	// All includes unchanged groups in diff reports.
	All bool
	// GrowthOnly limits diff reports to groups that grew, which is what a
	// leak hunt watches; it wins over All.
	GrowthOnly bool
}

func limit[T any](s []T, top int) []T {
	if top > 0 && top < len(s) {
		return s[:top]
	}
	return s
}

func totalCount(gs []Group) int {
	n := 0
	for _, g := range gs {
		n += g.Count
	}
	return n
}

// WriteText writes a grouped report for people: one block per group with
// its size, state, longest wait, leaked count, top frame and creator.
func WriteText(w io.Writer, groups []Group, opt ReportOptions) error {
	ew := &errWriter{w: w}
	ew.printf("%d goroutines in %d groups\n", totalCount(groups), len(groups))
	for _, g := range limit(groups, opt.Top) {
		ew.printf("\n%6d  %s\n", g.Count, summary(g))
		writeGroupDetail(ew, g, opt.Frames)
	}
	return ew.err
}

// summary is the one-line description of a group shared by every text form.
func summary(g Group) string {
	parts := []string{g.State}
	if g.MaxWait > 0 {
		parts = append(parts, "waiting up to "+formatWait(g.MaxWait))
	}
	if g.Leaked > 0 {
		parts = append(parts, fmt.Sprintf("%d leaked", g.Leaked))
	}
	return strings.Join(parts, ", ")
}

func writeGroupDetail(ew *errWriter, g Group, frames int) {
	ew.printf("        at      %s  %s\n", g.Top.Func, g.Top.Location())
	if g.Creator != nil {
		ew.printf("        created %s  %s\n", g.Creator.Func, g.Creator.Location())
	}
	if len(g.Labels) > 0 {
		ew.printf("        labels  %s\n", formatLabels(g.Labels))
	}
	if frames <= 0 {
		return
	}
	for _, f := range limit(g.Frames, frames) {
		ew.printf("          %s\n              %s\n", f.Func, f.Location())
	}
	if len(g.Frames) > frames {
		ew.printf("          ... %d more frames\n", len(g.Frames)-frames)
	}
}

// formatWait drops the "0s" tails of time.Duration.String: the runtime
// reports whole minutes only.
func formatWait(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	if d%time.Minute == 0 && d > time.Hour {
		return fmt.Sprintf("%dh%dm", d/time.Hour, d%time.Hour/time.Minute)
	}
	if d%time.Minute == 0 {
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

func formatLabels(labels map[string]string) string {
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(labels)) {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(quoteIfNeeded(k))
		b.WriteByte('=')
		b.WriteString(strconv.Quote(labels[k]))
	}
	return b.String()
}

// quoteIfNeeded leaves plain keys bare, as Go 1.27 tracebacks do, and
// quotes the rest so that "tenant id=x" cannot be misread.
func quoteIfNeeded(s string) string {
	plain := s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("./_-", r))
	}) < 0
	if plain {
		return s
	}
	return strconv.Quote(s)
}

// WriteDiffText writes the changes that grew or shrank (all of them with
// opt.All), growth first.
func WriteDiffText(w io.Writer, changes []Change, opt ReportOptions) error {
	ew := &errWriter{w: w}
	shown := diffShown(changes, opt)
	var before, after int
	for _, c := range changes {
		before += c.Before
		after += c.After
	}
	ew.printf("%d → %d goroutines (%+d), %d of %d groups changed\n",
		before, after, after-before, countChanged(changes), len(changes))
	for _, c := range limit(shown, opt.Top) {
		ew.printf("\n%+6d  %d → %d  %s\n", c.Delta, c.Before, c.After, summary(c.Group))
		writeGroupDetail(ew, c.Group, opt.Frames)
	}
	return ew.err
}

func diffShown(changes []Change, opt ReportOptions) []Change {
	switch {
	case opt.GrowthOnly:
		return slices.DeleteFunc(slices.Clone(changes), func(c Change) bool { return c.Delta <= 0 })
	case opt.All:
		return changes
	}
	return slices.DeleteFunc(slices.Clone(changes), func(c Change) bool { return c.Delta == 0 })
}

func countChanged(changes []Change) int {
	n := 0
	for _, c := range changes {
		if c.Delta != 0 {
			n++
		}
	}
	return n
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

// The JSON shapes are explicit, rather than the structs with tags, so the
// wire format stays stable when the Go types grow, and durations are
// readable instead of nanosecond integers.
type jsonFrame struct {
	Func string `json:"func"`
	File string `json:"file"`
	Line int    `json:"line"`
}

type jsonGroup struct {
	Count          int               `json:"count"`
	State          string            `json:"state"`
	MaxWait        string            `json:"max_wait,omitempty"`
	MaxWaitSeconds float64           `json:"max_wait_seconds"`
	Leaked         int               `json:"leaked"`
	Top            jsonFrame         `json:"top"`
	Creator        *jsonFrame        `json:"creator,omitempty"`
	Labels         map[string]string `json:"labels,omitempty"`
	IDs            []int64           `json:"ids"`
	Frames         []jsonFrame       `json:"frames"`
	Signature      string            `json:"signature"`
}

type jsonReport struct {
	Goroutines int         `json:"goroutines"`
	Groups     int         `json:"groups"`
	Top        []jsonGroup `json:"top_groups"`
}

type jsonChange struct {
	Before int `json:"before"`
	After  int `json:"after"`
	Delta  int `json:"delta"`
	jsonGroup
}

type jsonDiff struct {
	Before  int          `json:"before"`
	After   int          `json:"after"`
	Changes []jsonChange `json:"changes"`
}

func toJSONFrame(f Frame) jsonFrame { return jsonFrame{Func: f.Func, File: f.File, Line: f.Line} }

func toJSONGroup(g Group) jsonGroup {
	jg := jsonGroup{
		Count:          g.Count,
		State:          g.State,
		MaxWaitSeconds: g.MaxWait.Seconds(),
		Leaked:         g.Leaked,
		Top:            toJSONFrame(g.Top),
		Labels:         g.Labels,
		IDs:            g.IDs,
		Frames:         make([]jsonFrame, len(g.Frames)),
		Signature:      g.Signature,
	}
	if g.MaxWait > 0 {
		jg.MaxWait = formatWait(g.MaxWait)
	}
	if g.Creator != nil {
		c := toJSONFrame(*g.Creator)
		jg.Creator = &c
	}
	for i, f := range g.Frames {
		jg.Frames[i] = toJSONFrame(f)
	}
	return jg
}

// WriteJSON writes the grouped report as one JSON object.
func WriteJSON(w io.Writer, groups []Group, opt ReportOptions) error {
	r := jsonReport{Goroutines: totalCount(groups), Groups: len(groups), Top: []jsonGroup{}}
	for _, g := range limit(groups, opt.Top) {
		r.Top = append(r.Top, toJSONGroup(g))
	}
	return writeIndented(w, r)
}

// WriteDiffJSON writes a diff as one JSON object, ranked like Diff.
func WriteDiffJSON(w io.Writer, changes []Change, opt ReportOptions) error {
	d := jsonDiff{Changes: []jsonChange{}}
	for _, c := range changes {
		d.Before += c.Before
		d.After += c.After
	}
	for _, c := range limit(diffShown(changes, opt), opt.Top) {
		d.Changes = append(d.Changes, jsonChange{Before: c.Before, After: c.After, Delta: c.Delta, jsonGroup: toJSONGroup(c.Group)})
	}
	return writeIndented(w, d)
}

func writeIndented(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

var htmlReport = template.Must(template.New("report").Funcs(template.FuncMap{
	"wait":   formatWait,
	"labels": formatLabels,
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; }
table { border-collapse: collapse; }
th, td { border-bottom: 1px solid #ddd; padding: .3em .6em; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.leaked { color: #b00020; font-weight: bold; }
code, pre { font-size: .9em; }
details pre { margin: .3em 0; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p>{{.Goroutines}} goroutines in {{.Groups}} groups{{if .Shown}}, largest {{.Shown}} shown{{end}}.</p>
<table>
<thead><tr><th>Count</th><th>State</th><th>Longest wait</th><th>Leaked</th><th>Top frame</th><th>Created by</th></tr></thead>
<tbody>
{{- range .List}}
<tr>
<td class="n">{{.Count}}</td>
<td>{{.State}}</td>
<td>{{if .MaxWait}}{{wait .MaxWait}}{{end}}</td>
<td class="n{{if .Leaked}} leaked{{end}}">{{.Leaked}}</td>
<td><code>{{.Top.Func}}</code><br><code>{{.Top.Location}}</code>
{{- if .Labels}}<br>labels: <code>{{labels .Labels}}</code>{{end}}
<details><summary>stack ({{len .Frames}} frames{{with .IDs}}, e.g. goroutine {{index . 0}}{{end}})</summary><pre>{{.Signature}}</pre></details></td>
<td>{{with .Creator}}<code>{{.Func}}</code><br><code>{{.Location}}</code>{{end}}</td>
</tr>
{{- end}}
</tbody>
</table>
</body>
</html>
`))

// WriteHTML writes the grouped report as a standalone HTML page.
func WriteHTML(w io.Writer, groups []Group, opt ReportOptions) error {
	shown := limit(groups, opt.Top)
	data := struct {
		Title              string
		Goroutines, Groups int
		Shown              int
		List               []Group
	}{"Goroutine report", totalCount(groups), len(groups), 0, shown}
	if len(shown) < len(groups) {
		data.Shown = len(shown)
	}
	return htmlReport.Execute(w, data)
}
