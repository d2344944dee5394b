package signals_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/checker/signals"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/rules"
	"github.com/trialwatch/trialwatch/clinical/rules/liver"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// BenchmarkSignalQueries reads the first and a later page of a study of
// 100,000 findings (50 sites, 2,000 subjects) as a monitor and a site
// user would, each sort and the usual filters, the summary (of the study,
// and of its open findings site by site, one query against one per site)
// and the open counts. Compare each with "newest", the listing before filters and
// sorts existed, in the same run.
func BenchmarkSignalQueries(b *testing.B) {
	for _, backend := range sqldbtest.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			if backend.Name == "postgres" && os.Getenv(sqldbtest.EnvPG) == "" {
				b.Skip(sqldbtest.EnvPG + " is not set")
			}
			benchmarkSignalQueries(b, backend.Open(b))
		})
	}
}

func benchmarkSignalQueries(b *testing.B, db *sqldb.DB) {
	ctx := context.Background()
	s, err := signals.Open(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	const n = 100_000
	sigs := make([]clinical.Signal, 0, n)
	for i := range n {
		subject := i % 2000
		day := time.Date(2014, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%400)
		sigs = append(sigs, clinical.Signal{Study: "S", Site: strconv.Itoa(700 + subject%50), USUBJID: fmt.Sprintf("01-%04d", subject),
			Rule: rules.Rules[i%len(rules.Rules)], Severity: clinical.Severity(i % 5), Key: "K:" + strconv.Itoa(i),
			Evidence: map[string]any{"i": i}, Message: "m", First: clinical.Date(day.Format(time.DateOnly)),
			Last: clinical.Date(day.AddDate(0, 0, i%9).Format(time.DateOnly))})
	}
	if err := s.SaveSignals(ctx, sigs, time.Now()); err != nil {
		b.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE signals SET status = 'closed' WHERE id % 3 = 0`); err != nil {
		b.Fatal(err)
	}
	if db.Dialect == sqldb.Postgres {
		db.ExecContext(ctx, `ANALYZE signals`)
	} else {
		db.ExecContext(ctx, `ANALYZE`)
	}
	site := []string{"701"}
	for _, c := range []struct {
		name string
		f    signals.Filter
	}{
		{"newest", signals.Filter{}},
		{"site-user/newest", signals.Filter{Sites: site}},
		{"site-user/severity", signals.Filter{Sites: site, Sort: signals.SortSeverity}},
		{"severity", signals.Filter{Sort: signals.SortSeverity}},
		{"first_date", signals.Filter{Sort: signals.SortFirstDate}},
		{"-last_date", signals.Filter{Sort: "-last_date"}},
		{"rule", signals.Filter{Rules: []clinical.Rule{liver.HysLaw}}},
		{"status-new", signals.Filter{Statuses: []clinical.SignalStatus{clinical.StatusNew}}},
		{"min_severity-high", signals.Filter{MinSeverity: clinical.SeverityHigh}},
		{"from-to", signals.Filter{From: "2014-03-01", To: "2014-03-07"}},
		{"subject", signals.Filter{USUBJID: "01-0042"}},
	} {
		f := c.f
		f.Study, f.Limit = "S", 50
		_, next, err := s.Signals(ctx, f)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name+"/first-page", func(b *testing.B) {
			for b.Loop() {
				if _, _, err := s.Signals(ctx, f); err != nil {
					b.Fatal(err)
				}
			}
		})
		f.After = next
		b.Run(c.name+"/second-page", func(b *testing.B) {
			for b.Loop() {
				if _, _, err := s.Signals(ctx, f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("summary", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Summary(ctx, signals.Filter{Study: "S"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The overview's open findings by site: a summary per site and one
	// for the study, as it asked before, against one summary by site.
	open := []clinical.SignalStatus{clinical.StatusNew, clinical.StatusAcknowledged}
	b.Run("summary/open-each-site-apart", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Summary(ctx, signals.Filter{Study: "S", Statuses: open}); err != nil {
				b.Fatal(err)
			}
			for i := range 50 {
				if _, err := s.Summary(ctx, signals.Filter{Study: "S", Statuses: open, Site: strconv.Itoa(700 + i)}); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("summary/open-by-site", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.SummaryBySite(ctx, signals.Filter{Study: "S", Statuses: open}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("site-user/open-by-subject", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.OpenBySubject(ctx, signals.Filter{Study: "S", Sites: site}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
