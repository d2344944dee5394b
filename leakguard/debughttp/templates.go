package debughttp

import (
	"fmt"
	"html/template"

	"github.com/trialwatch/trialwatch/leakguard/report"
)

// html/template, not text/template: function names, file paths and pprof
// labels come from the program and may carry user input.
var indexTmpl = template.Must(template.New("index").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>debug</title></head><body>
<h1>debug</h1>
<ul>
<li><a href="{{.}}leaks">leaks</a> — goroutine leak report (<a href="{{.}}leaks?format=json">json</a>)</li>
<li><a href="{{.}}pprof/">pprof</a> — profiles</li>
</ul></body></html>
`))

var funcs = template.FuncMap{
	"args": func(title string, groups []report.Group) groupsArgs { return groupsArgs{title, groups} },
	"num":  func(f float64) string { return fmt.Sprintf("%.2f", f) },
	"wait": func(sec float64) string {
		if sec <= 0 {
			return ""
		}
		return fmt.Sprintf("%.0f min", sec/60)
	},
}

var leaksTmpl = template.Must(template.New("leaks").Funcs(funcs).Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>goroutine leaks: {{.Status}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;max-width:80em}
table{border-collapse:collapse;width:100%;margin-bottom:1.5em}
th,td{border-bottom:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}
code{font-size:.9em}
.healthy{color:#2a7a2a}.suspect{color:#b36b00}.leaking{color:#b00020}
details pre{margin:.3em 0;font-size:.85em}
</style></head><body>
<h1>Goroutine leaks: <span class="{{.Status}}">{{.Status}}</span></h1>
<p>{{.Goroutines}} goroutines at {{.GeneratedAt.Format "2006-01-02 15:04:05 MST"}} (source: {{.Source}}).
{{if eq .Source "watchdog"}}Growth {{num .GrowthPerMinute}}/min, beyond load {{num .ExcessPerMinute}}/min
over {{.Samples}} samples; load {{num .Load}}, baseline {{num .BaselinePerLoad}} goroutines per unit of load.
{{.Snapshots}} snapshots taken{{if .LastSnapshot}}, last: <code>{{.LastSnapshot}}</code>{{end}}.{{end}}</p>
<p>Proven leaks: <b>{{.ProvenLeaks}}</b>{{if not .LeakProfile}} (runtime leak profile unavailable: build with GOEXPERIMENT=goroutineleakprofile){{end}}.
Suspected: <b>{{.Suspected}}</b>. Confirmed (above their healthy level): <b>{{.Confirmed}}</b>{{if .Confirmed}}
— once looked at, acknowledge with <code>POST leaks/ack</code> and <code>group=LOCATION</code> (or <code>all=1</code>){{end}}.</p>
{{with .Reasons}}<ul>{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{template "groups" (args "Proven leaks" .Leaked)}}
{{template "groups" (args "Growing since last healthy snapshot" .Growing)}}
{{template "groups" (args "Blocked too long" .Blocked)}}
{{template "groups" (args "Largest groups" .Top)}}
</body></html>
{{define "groups"}}{{if .Groups}}<h2>{{.Title}}</h2>
<table><tr><th>count</th><th>growth</th><th>state</th><th>function</th><th>location</th></tr>
{{range .Groups}}<tr><td class="n">{{.Count}}</td><td class="n">{{if .Delta}}+{{.Delta}} (was {{.Before}}){{end}}</td>
<td>{{.State}}{{with wait .MaxWaitSeconds}}, {{.}}{{end}}{{if .Leaked}} (leaked){{end}}</td>
<td><code>{{.Function}}</code>{{with .Labels}}<br>{{range $k, $v := .}}<small>{{$k}}={{$v}}</small> {{end}}{{end}}</td>
<td><code>{{.Location}}</code>{{if .Stack}}<details><summary>stack</summary><pre>{{range .Stack}}{{.}}
{{end}}{{with .CreatedBy}}created by {{.}}{{end}}</pre></details>{{end}}</td></tr>
{{end}}</table>{{end}}{{end}}
`))

type groupsArgs struct {
	Title  string
	Groups []report.Group
}
