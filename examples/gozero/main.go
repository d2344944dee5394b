// Command gozero shows leakguard in a go-zero rest service: the debug
// handlers mounted as go-zero routes, the watchdog fed with in-flight
// requests, and its report served at /debug/leaks.
//
//	GOWORK=off LEAKGUARD_TOKEN=secret go run . &   # own module, outside the repository's go.work
//	curl -H 'Authorization: Bearer secret' localhost:8888/debug/leaks
package main

import (
	"context"
	"log"
	"net/http"
	"os"
	"strings"

	"github.com/zeromicro/go-zero/core/logx"
	"github.com/zeromicro/go-zero/core/proc"
	"github.com/zeromicro/go-zero/rest"

	"github.com/trialwatch/trialwatch/leakguard/debughttp"
	"github.com/trialwatch/trialwatch/leakguard/watchdog"
)

// newServer builds the service. go-zero's router has no catch-all route,
// so the debug handler gets explicit routes for the report and the named
// profiles, and the not-found handler for the two index pages.
func newServer(conf rest.RestConf, token string, wd debughttp.Reporter, inflight *watchdog.InFlight) (*rest.Server, error) {
	dbg := debughttp.Handler(debughttp.WithBearerToken(token), debughttp.WithReporter(wd))
	notFound := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/debug/") {
			dbg.ServeHTTP(w, r)
			return
		}
		http.NotFound(w, r)
	})
	srv, err := rest.NewServer(conf, rest.WithNotFoundHandler(notFound))
	if err != nil {
		return nil, err
	}
	srv.Use(rest.ToMiddleware(inflight.Middleware))
	srv.AddRoutes([]rest.Route{
		{Method: http.MethodGet, Path: "/hello", Handler: func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte("hello"))
		}},
		{Method: http.MethodGet, Path: "/debug/leaks", Handler: dbg.ServeHTTP},
		{Method: http.MethodGet, Path: "/debug/pprof/:name", Handler: dbg.ServeHTTP},
		// pprof's symbol lookup is a POST.
		{Method: http.MethodPost, Path: "/debug/pprof/:name", Handler: dbg.ServeHTTP},
	})
	return srv, nil
}

func main() {
	var inflight watchdog.InFlight
	wd := watchdog.New(
		watchdog.WithInFlight(inflight.Load),
		watchdog.WithSnapshotDir(os.TempDir()+"/leakguard-gozero"),
	)
	if err := wd.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	// go-zero handles SIGTERM itself and runs shutdown listeners.
	proc.AddShutdownListener(wd.Stop)

	conf := rest.RestConf{Host: "0.0.0.0", Port: 8888}
	conf.Name = "leakguard-gozero"
	conf.Log.Mode = "console"
	srv, err := newServer(conf, os.Getenv("LEAKGUARD_TOKEN"), wd, &inflight)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Stop()
	logx.Infof("listening on :%d", conf.Port)
	srv.Start()
}
