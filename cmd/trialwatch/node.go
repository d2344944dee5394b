package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"time"

	"connectrpc.com/connect"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trialwatch/trialwatch/access"
	"github.com/trialwatch/trialwatch/admin"
	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/checker/api"
	"github.com/trialwatch/trialwatch/checker/api/kriapi"
	"github.com/trialwatch/trialwatch/checker/kris"
	"github.com/trialwatch/trialwatch/checker/labs"
	"github.com/trialwatch/trialwatch/checker/queue"
	"github.com/trialwatch/trialwatch/checker/signals"
	"github.com/trialwatch/trialwatch/events"
	"github.com/trialwatch/trialwatch/exposure"
	"github.com/trialwatch/trialwatch/ingest"
	"github.com/trialwatch/trialwatch/ingest/local"
	"github.com/trialwatch/trialwatch/ingest/remote"
	"github.com/trialwatch/trialwatch/internal/jsonhttp"
	leakmetrics "github.com/trialwatch/trialwatch/leakguard/metrics"
	"github.com/trialwatch/trialwatch/leakguard/watchdog"
	"github.com/trialwatch/trialwatch/rpc"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/subjects"
	"github.com/trialwatch/trialwatch/web"
)

// node is one trialwatch process: a public listener carrying the services
// it runs, an admin listener, and the databases it must close on exit.
type node struct {
	cfg      config
	log      *slog.Logger
	health   *admin.Health
	reg      *prometheus.Registry
	router   *access.Router
	users    *auth.Store
	trail    *audit.Log
	httpL    net.Listener
	adminL   net.Listener
	db       *sqldb.DB
	checks   *checker.Metrics
	services []string
	clients  []*http.Client
	workers  *queue.Workers
	checker  *checker.Checker
	kris     *kris.Service
	// recompute recomputes a study's KRIs once its uploads pause and
	// their checks are done.
	recompute *kris.Recomputer
	// inflight counts the public listener's requests in progress: the
	// load the leak watchdog and the history compare goroutines with.
	// Both are started by run.
	inflight watchdog.InFlight
	wd       *watchdog.Watchdog
	history  *admin.History
}

// newNode binds both listeners first, so a busy port fails before any
// database work and the all-in-one checker knows its own URL.
func newNode(cfg config, log *slog.Logger) (*node, error) {
	n := &node{cfg: cfg, log: log, health: &admin.Health{}, reg: admin.NewRegistry()}
	n.router = access.NewRouter(access.Rules(), access.WithServiceToken(cfg.serviceToken),
		access.WithRateLimit(cfg.rateLimit, cfg.rateBurst), access.WithGuessLimit(cfg.guessRate, cfg.guessBurst),
		access.WithMaxBody(cfg.maxBody), access.WithLogger(log))
	var err error
	if n.httpL, err = net.Listen("tcp", cfg.httpAddr); err != nil {
		return nil, fmt.Errorf("--http %s: %w", cfg.httpAddr, err)
	}
	if n.adminL, err = net.Listen("tcp", cfg.adminAddr); err != nil {
		n.httpL.Close()
		return nil, fmt.Errorf("--admin %s: %w", cfg.adminAddr, err)
	}
	n.health.Register(n.router)
	// The watchdog watches this very process; in-flight requests are the
	// load that tells it a traffic peak from a leak.
	n.wd = watchdog.New(watchdog.WithInFlight(n.inflight.Load), watchdog.WithLogger(log),
		watchdog.WithSnapshotDir(cfg.leakDir))
	n.reg.MustRegister(leakmetrics.New(n.wd))
	n.history = admin.NewHistory(runtime.NumGoroutine, n.inflight.Load, 0, 0)
	return n, nil
}

// adminHandler serves the admin listener: metrics, profiles, leak reports
// and the history to the admin token or an ops user's. The operations
// page calls it in process with the ops user's session token.
func (n *node) adminHandler() http.Handler {
	var users access.Authenticator
	if n.users != nil {
		users = n.users
	}
	return admin.Handler(admin.Config{Guard: access.OpsOnly(n.cfg.adminToken, users),
		Gatherer: n.reg, Health: n.health, Leaks: n.wd, History: n.history})
}

func (n *node) httpURL() string {
	if n.cfg.tlsCert != "" {
		return "https://" + n.httpL.Addr().String()
	}
	return "http://" + n.httpL.Addr().String()
}

// adminURL is the admin listener's; it serves TLS, with the API's
// certificate, when the API does.
func (n *node) adminURL() string {
	if n.cfg.tlsCert != "" {
		return "https://" + n.adminL.Addr().String()
	}
	return "http://" + n.adminL.Addr().String()
}

// openDB opens the node's database once; the services on it share it.
func (n *node) openDB(ctx context.Context) (*sqldb.DB, error) {
	if n.db != nil {
		return n.db, nil
	}
	db, err := sqldb.Open(ctx, n.cfg.db)
	if err != nil {
		return nil, err
	}
	n.db = db
	n.health.AddDependency(admin.Dependency{Name: "database", Target: string(db.Dialect), Check: db.PingContext})
	return db, nil
}

// started is when the process started: the spool sweep removes only the
// spool files made before it (see ingest.SweepSpool).
var started = time.Now()

// dataServices open each data service's store and serve it over Connect.
var dataServices = map[string]func(context.Context, *sqldb.DB) (string, http.Handler, error){
	"subjects": func(ctx context.Context, db *sqldb.DB) (string, http.Handler, error) {
		s, err := subjects.Open(ctx, db)
		return serveOrFail[rpc.SubjectStore](s, err, rpc.SubjectHandler)
	},
	"exposure": func(ctx context.Context, db *sqldb.DB) (string, http.Handler, error) {
		s, err := exposure.Open(ctx, db)
		return serveOrFail[rpc.DoseStore](s, err, rpc.ExposureHandler)
	},
	"events": func(ctx context.Context, db *sqldb.DB) (string, http.Handler, error) {
		s, err := events.Open(ctx, db)
		return serveOrFail[rpc.EventStore](s, err, rpc.EventHandler)
	},
}

func serveOrFail[S any](store S, err error, serve func(S, ...connect.HandlerOption) (string, http.Handler)) (string, http.Handler, error) {
	if err != nil {
		return "", nil, err
	}
	path, h := serve(store)
	return path, h, nil
}

// addDataService puts one data service (subjects, exposure or events) on
// the node.
func (n *node) addDataService(ctx context.Context, name string) error {
	db, err := n.openDB(ctx)
	if err != nil {
		return err
	}
	path, h, err := dataServices[name](ctx, db)
	if err != nil {
		return err
	}
	n.router.Handle(path, h)
	n.services = append(n.services, name)
	return nil
}

// addChecker adds the checker, calling its upstreams over Connect at the
// given base URLs, with its upload endpoint and the workers that run the
// checks uploads queue. shared says the data services' tables are in this
// node's database, so an upload is published in one transaction.
func (n *node) addChecker(ctx context.Context, subjectsURL, exposureURL, eventsURL string, shared bool) error {
	db, err := n.openDB(ctx)
	if err != nil {
		return err
	}
	hc, err := n.upstreamClient(shared)
	if err != nil {
		return err
	}
	n.clients = append(n.clients, hc)
	for _, up := range []struct{ name, url string }{{"subjects", subjectsURL}, {"exposure", exposureURL}, {"events", eventsURL}} {
		n.health.AddDependency(admin.Dependency{Name: up.name, Target: admin.RedactURL(up.url), Check: admin.ReadyAt(hc, up.url)})
	}
	subjectsClient := rpc.NewSubjectClient(hc, subjectsURL)
	exposureClient := rpc.NewExposureClient(hc, exposureURL)
	eventsClient := rpc.NewEventClient(hc, eventsURL)
	// Sharing the database, an upload is published in one transaction, and hands the
	// lab results it stored to the checks it queues through the same lab
	// store.
	var all *local.Target
	if shared {
		if all, err = local.Open(ctx, db); err != nil {
			return err
		}
	}
	labStore, err := labs.Open(ctx, db)
	if all != nil {
		labStore = all.Labs()
	}
	if err != nil {
		return err
	}
	jobs, err := queue.Open(ctx, db)
	if err != nil {
		return err
	}
	findings, err := signals.Open(ctx, db, signals.WithRecheck(jobs.EnqueueStudyTx))
	if err != nil {
		return err
	}
	src := checker.Sources{Subjects: subjectsClient, Exposure: exposureClient, Events: eventsClient}
	n.checks = checker.NewMetrics(n.reg)
	c := checker.New(src, labStore, findings, checker.WithDeadline(n.cfg.checkDeadline), checker.WithStudyData(findings),
		checker.WithMetrics(n.checks), checker.WithLogger(n.log),
		checker.WithRequeue(func(ctx context.Context, study, usubjid string) error {
			return jobs.Enqueue(ctx, study, []string{usubjid}, time.Now())
		}))
	n.checker = c
	if n.users, err = auth.Open(ctx, db, auth.WithHashing(n.cfg.loginWorkers, n.cfg.loginQueue)); err != nil {
		return err
	}
	if n.trail, err = audit.Open(ctx, db); err != nil {
		return err
	}
	audit.RegisterMetrics(n.reg, n.trail)
	// On PostgreSQL the rate limits are in the database: replicas share them.
	limits, err := access.LimitsFor(ctx, db)
	if err != nil {
		return err
	}
	n.router.Attach(n.users, n.trail)
	n.router.UseLimits(limits)
	accounts := access.NewAccounts(db, n.users, n.trail, n.log)
	accounts.LimitClients(n.cfg.guessRate, n.cfg.guessBurst)
	accounts.LimitAll(n.cfg.loginRate, n.cfg.loginBurst)
	accounts.UseLimits(limits)
	accounts.Register(n.router)
	access.RegisterOpenAPI(n.router)
	audit.NewAPI(n.trail, n.log).Register(n.router)
	// The subject list needs a subject source that lists a study's
	// subjects (clinical.StudySubjects); the API answers 501 without one.
	api.New(c, api.Sources{Subjects: subjectsClient, Exposure: exposureClient, Events: eventsClient, Labs: labStore},
		findings, n.log).Register(n.router)
	kriStore, err := kris.Open(ctx, db)
	if err != nil {
		return err
	}
	n.kris = kris.NewService(kris.Sources{Subjects: subjectsClient, Events: eventsClient, Dispositions: subjectsClient, LabLags: labStore},
		kriStore, findings, kris.WithLogger(n.log))
	kriapi.New(n.kris, n.log).Register(n.router)
	ui := web.New(n.router, web.WithLogger(n.log), web.WithAdmin(n.adminHandler()))
	n.router.UsePageErrors(ui.PageError)
	ui.Register(n.router)
	n.recompute = kris.NewRecomputer(n.kris, kris.WithRecomputeLogger(n.log))
	labs.RegisterMetrics(n.reg, labStore)
	n.workers = queue.NewWorkers(c, jobs, queue.WithWorkers(n.cfg.workers), queue.WithWorkerLogger(n.log),
		queue.WithJobMetrics(queue.NewMetrics(n.reg, jobs)), queue.WithBatches(jobs, labStore, findings, queue.DefaultBatch))

	var target ingest.Target = &remote.Target{Subjects: subjectsClient, Exposure: exposureClient, Events: eventsClient,
		Dispositions: subjectsClient, ConMeds: exposureClient, DB: db, Labs: labStore, Queue: jobs, Wake: n.workers.Wake}
	if all != nil {
		all.Wake, all.HandOffLabs, all.Log = n.workers.Wake, true, n.log
		target = all
	}
	ingest.SweepSpool("", started, n.log)
	target = ingest.Notify(target, n.recompute.Trigger) // the KRIs follow the uploads
	(&ingest.Handler{Target: target, Log: n.log, MaxBytes: n.cfg.maxUpload, Limits: n.cfg.upload}).Register(n.router)
	n.services = append(n.services, "checker")
	return nil
}

// upstreamClient is the HTTP client the checker calls the data services
// with, carrying the internal service credential. The all-in-one checker
// calls its own TLS listener, whose certificate it trusts by name whatever
// address it dials.
func (n *node) upstreamClient(self bool) (*http.Client, error) {
	hc := rpc.NewHTTPClient()
	if self && n.cfg.tlsCert != "" {
		cfg, err := rpc.TrustOwnCert(n.cfg.tlsCert)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert: %w", err)
		}
		hc.Transport.(*http.Transport).TLSClientConfig = cfg
	}
	return rpc.WithServiceToken(hc, n.cfg.serviceToken), nil
}

// run serves until ctx ends, then drains: readiness goes false, listeners
// stop accepting, in-flight requests get the grace period, databases close.
func (n *node) run(ctx context.Context) error {
	if n.cfg.adminToken == "" && n.users == nil {
		n.log.Warn("no --admin-token and no users on this node: metrics and /debug/ on the admin listener refuse every request")
	}
	requests := admin.NewRequestCounter(n.reg)
	if err := n.wd.Start(ctx); err != nil {
		n.close()
		return fmt.Errorf("leak watchdog: %w", err)
	}
	defer n.wd.Stop()
	n.history.Start(ctx)
	defer n.history.Stop()
	tls := n.cfg.tlsCert != ""
	// Every answer of both listeners carries an X-Request-Id, and no 5xx
	// answer carries internal text (jsonhttp.RequestIDs); every request
	// leaves one access-log line (jsonhttp.WithAccessLog).
	servers := []*http.Server{
		n.server(jsonhttp.RequestIDs(access.SecureHeaders(requests.Wrap(n.inflight.Middleware(n.router)), tls), n.log,
			jsonhttp.WithAccessLog(n.log.With("listener", "api")))),
		n.server(jsonhttp.RequestIDs(access.SecureHeaders(n.adminHandler(), tls), n.log, jsonhttp.WithAccessLog(n.log.With("listener", "admin")))),
	}
	listeners := []net.Listener{n.httpL, n.adminL}
	errc := make(chan error, len(servers)) // buffered: a server that fails never blocks on the send
	for i, srv := range servers {
		serve := func() error { return srv.Serve(listeners[i]) }
		if tls { // both listeners: the admin one carries tokens too
			serve = func() error { return srv.ServeTLS(listeners[i], n.cfg.tlsCert, n.cfg.tlsKey) }
		}
		go func() { errc <- serve() }() // returns once Shutdown or Close below stops srv
	}
	if n.workers != nil {
		// Not tied to ctx: on a signal the listeners drain first, then
		// the workers stop and release their jobs.
		n.workers.Start(context.WithoutCancel(ctx))
	}
	if n.recompute != nil {
		// Stopped after the workers, below. Studies with checks queued
		// when the node starts (an import, a restart) get their KRIs
		// recomputed once those are done.
		n.recompute.Start(context.WithoutCancel(ctx))
		if err := n.recompute.TriggerQueued(ctx); err != nil {
			n.log.Warn("finding the studies with queued checks: their KRIs are recomputed after their next upload", "error", err)
		}
	}
	n.health.SetServices(n.services)
	n.health.SetReady(true)
	n.log.Info("serving", "services", n.services, "http", n.httpURL(), "admin", n.adminURL())

	var serveErr error
	select {
	case <-ctx.Done():
		n.log.Info("shutting down", "grace", n.cfg.grace)
	case serveErr = <-errc:
		n.log.Error("listener failed", "error", serveErr)
	}
	n.health.SetReady(false)
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), n.cfg.grace)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(shutCtx); err != nil {
			n.log.Warn("in-flight requests cut off at the end of the grace period", "error", err)
			srv.Close()
		}
	}
	remaining := len(servers)
	if serveErr != nil {
		remaining--
	}
	for range remaining {
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) && serveErr == nil {
			serveErr = err
		}
	}
	if n.workers != nil {
		n.workers.Stop()
	}
	if n.checker != nil {
		// Findings of checks that answered before storing them.
		if err := n.checker.Wait(shutCtx); err != nil {
			n.log.Warn("findings left unstored at the end of the grace period; their subjects are checked again on their next upload", "error", err)
		}
	}
	if n.recompute != nil {
		n.recompute.Stop()
	}
	n.close()
	return serveErr
}

// server is one listener's server, with every timeout set: a client that
// sends its headers slowly, its body slowly or nothing at all is cut off.
func (n *node) server(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: n.cfg.readTimeout,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10, ErrorLog: slog.NewLogLogger(n.log.Handler(), slog.LevelWarn)}
}

// close releases what the node holds when it never reached run.
func (n *node) close() {
	if n.db != nil {
		n.db.Close()
		n.db = nil
	}
	for _, c := range n.clients {
		c.CloseIdleConnections()
	}
	n.httpL.Close()
	n.adminL.Close()
}
