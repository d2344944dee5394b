package leaktest

import "go.uber.org/goleak"

// Preset names the goroutines a library leaves running on purpose, so a
// test that uses the library is not failed for them. Function names are
// taken from the libraries' sources; they are plain strings so that
// leaktest does not depend on any of those libraries.
type Preset struct {
	name string
	// top: ignore a goroutine whose innermost function is this one. Used
	// for goroutines parked directly in a known loop.
	top []string
	// any: ignore a goroutine with this function anywhere on its stack.
	// Used for loops that park in a helper (controlBuffer.get, a select
	// in a callee) whose top frame varies by version.
	any []string
}

// String returns the preset's name.
func (p Preset) String() string { return p.name }

// Functions lists every function name the preset matches.
func (p Preset) Functions() []string {
	return append(append([]string(nil), p.top...), p.any...)
}

var (
	// GoZero: github.com/zeromicro/go-zero keeps process-lifetime workers:
	// the signal handler started from core/proc's init and the CPU usage
	// sampler from core/stat's init (both present as soon as the rest
	// package is imported; init.1 in v1.10, init.0 in older releases),
	// timing wheels (core/collection) behind its caches, periodic executors
	// behind its stats, and the rotating file logger's worker.
	GoZero = Preset{
		name: "go-zero",
		any: []string{
			"github.com/zeromicro/go-zero/core/proc.init.0.func1",
			"github.com/zeromicro/go-zero/core/proc.init.1.func1",
			"github.com/zeromicro/go-zero/core/stat.init.0.func1",
			"github.com/zeromicro/go-zero/core/stat.init.1.func1",
			"github.com/zeromicro/go-zero/core/collection.(*TimingWheel).run",
			"github.com/zeromicro/go-zero/core/executors.(*PeriodicalExecutor).backgroundFlush.func1",
			"github.com/zeromicro/go-zero/core/logx.(*RotateLogger).startWorker.func1",
		},
	}

	// GRPC: google.golang.org/grpc tears transports and balancers down
	// asynchronously, so their loops outlive Close/Stop briefly, and a
	// ClientConn's serializers live as long as the conn.
	GRPC = Preset{
		name: "grpc",
		top: []string{
			"google.golang.org/grpc.(*ccBalancerWrapper).watcher",
			"google.golang.org/grpc.(*ccResolverWrapper).watcher",
			"google.golang.org/grpc.(*addrConn).resetTransport",
		},
		any: []string{
			"google.golang.org/grpc/internal/grpcsync.(*CallbackSerializer).run",
			"google.golang.org/grpc/internal/transport.(*loopyWriter).run",
			"google.golang.org/grpc/internal/transport.(*controlBuffer).get",
			"google.golang.org/grpc/internal/transport.(*http2Client).keepalive",
			"google.golang.org/grpc/internal/transport.(*http2Client).reader",
			"google.golang.org/grpc/internal/transport.(*http2Server).keepalive",
			"google.golang.org/grpc/internal/transport.(*http2Server).HandleStreams",
			"google.golang.org/grpc.(*addrConn).resetTransportAndUnlock",
		},
	}

	// Gin: gin itself starts no goroutines; gin tests leak through the
	// net/http client they use to call the engine (keep-alive pools), so
	// this is HTTPKeepAlive under the name people look for.
	Gin = Preset{
		name: "gin",
		any:  HTTPKeepAlive.any,
	}

	// HTTPKeepAlive: net/http.Transport keeps an idle connection's read and
	// write loops running until IdleConnTimeout or CloseIdleConnections.
	HTTPKeepAlive = Preset{
		name: "net/http keep-alive",
		any: []string{
			"net/http.(*persistConn).readLoop",
			"net/http.(*persistConn).writeLoop",
		},
	}

	// OpenCensus: go.opencensus.io/stats/view starts its worker at import
	// time and never stops it unless view.Stop is called.
	OpenCensus = Preset{
		name: "opencensus",
		any: []string{
			"go.opencensus.io/stats/view.(*worker).start",
		},
	}

	// OpenTelemetry: the SDK's batch span processor (processQueue, then
	// drainQueue during shutdown), periodic metric reader and batch log
	// processor run until Shutdown; tests that skip Shutdown keep them.
	OpenTelemetry = Preset{
		name: "opentelemetry",
		any: []string{
			"go.opentelemetry.io/otel/sdk/trace.(*batchSpanProcessor).processQueue",
			"go.opentelemetry.io/otel/sdk/trace.(*batchSpanProcessor).drainQueue",
			"go.opentelemetry.io/otel/sdk/metric.(*PeriodicReader).run",
			"go.opentelemetry.io/otel/sdk/log.(*BatchProcessor).poll.func1",
		},
	}
)

// Presets turns presets into goleak options.
func Presets(ps ...Preset) []goleak.Option {
	var opts []goleak.Option
	for _, p := range ps {
		for _, f := range p.top {
			opts = append(opts, goleak.IgnoreTopFunction(f))
		}
		for _, f := range p.any {
			opts = append(opts, goleak.IgnoreAnyFunction(f))
		}
	}
	return opts
}
