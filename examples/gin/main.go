// Command gin shows leakguard in a gin service: the debug handlers mounted
// with gin.WrapH, the watchdog fed with in-flight requests, and its report
// served at /debug/leaks.
//
//	GOWORK=off LEAKGUARD_TOKEN=secret go run . &   # own module, outside the repository's go.work
//	curl -H 'Authorization: Bearer secret' localhost:8080/debug/leaks
package main

import (
	"context"
	"errors"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/trialwatch/trialwatch/leakguard/debughttp"
	"github.com/trialwatch/trialwatch/leakguard/watchdog"
)

// newEngine builds the service. The watchdog is passed in so tests can
// run the engine without starting one.
func newEngine(token string, wd debughttp.Reporter, inflight *watchdog.InFlight) *gin.Engine {
	r := gin.New()
	r.Use(gin.Recovery(), func(c *gin.Context) {
		inflight.Add(1)
		defer inflight.Add(-1)
		c.Next()
	})
	r.GET("/hello", func(c *gin.Context) { c.String(http.StatusOK, "hello") })

	dbg := debughttp.Handler(debughttp.WithBearerToken(token), debughttp.WithReporter(wd))
	// One catch-all: debughttp routes everything under /debug/ itself.
	r.Any("/debug/*path", gin.WrapH(dbg))
	return r
}

func main() {
	token := os.Getenv("LEAKGUARD_TOKEN") // empty refuses every debug request
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var inflight watchdog.InFlight
	wd := watchdog.New(
		watchdog.WithInFlight(inflight.Load),
		watchdog.WithSnapshotDir(os.TempDir()+"/leakguard-gin"),
	)
	if err := wd.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer wd.Stop()

	gin.SetMode(gin.ReleaseMode)
	srv := &http.Server{Addr: ":8080", Handler: newEngine(token, wd, &inflight), ReadHeaderTimeout: 10 * time.Second}
	go func() { // ended by Shutdown below
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Print(err)
			stop()
		}
	}()
	<-ctx.Done()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Print(err)
	}
}
