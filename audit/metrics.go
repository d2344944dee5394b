package audit

import "github.com/prometheus/client_golang/prometheus"

// RegisterMetrics exports how l's records appended on their own were
// grouped into transactions (see AppendStats).
func RegisterMetrics(reg prometheus.Registerer, l *Log) {
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "trialwatch_audit_grouped_records_total", Help: "Audit records appended in a transaction of no other change (logins, records written after their answer), committed.",
		}, func() float64 { return float64(l.AppendStats().Records) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "trialwatch_audit_group_commits_total", Help: "Transactions that committed those records, several to one when they arrived together.",
		}, func() float64 { return float64(l.AppendStats().Transactions) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "trialwatch_audit_appends_waiting", Help: "Such appends under way: waiting for room in a group, for their turn or for their commit.",
		}, func() float64 { return float64(l.AppendStats().Waiting) }))
}
