package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/access"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/events"
	"github.com/trialwatch/trialwatch/exposure"
	v1 "github.com/trialwatch/trialwatch/gen/trialwatch/v1"
	"github.com/trialwatch/trialwatch/gen/trialwatch/v1/trialwatchv1connect"
	"github.com/trialwatch/trialwatch/rpc"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
	"github.com/trialwatch/trialwatch/subjects"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const serviceToken = "internal-secret"

// services is the three data services on one database, behind the access
// router as a node mounts them (service credential, and a small body
// limit for the other routes that streamed writes must not meet), called
// with the checker's HTTP client.
type services struct {
	db       *sqldb.DB
	srv      *httptest.Server
	hc       *http.Client
	inFlight atomic.Int64 // requests the services are handling
	subjects *rpc.SubjectClient
	exposure *rpc.ExposureClient
	events   *rpc.EventClient
}

// startServices serves the services on db; onChunk, when set, runs in
// the exposure service after each chunk of doses it writes, with the
// chunk's number.
func startServices(t *testing.T, db *sqldb.DB, onChunk func(n int)) *services {
	t.Helper()
	ctx := context.Background()
	subs, err := subjects.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	doses, err := exposure.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := events.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	s := &services{db: db}
	router := access.NewRouter(access.Rules(), access.WithServiceToken(serviceToken), access.WithMaxBody(4<<10))
	for _, mount := range []func() (string, http.Handler){
		func() (string, http.Handler) { return rpc.SubjectHandler(subs) },
		func() (string, http.Handler) { return rpc.ExposureHandler(observedDoses{doses, onChunk}) },
		func() (string, http.Handler) { return rpc.EventHandler(evs) },
	} {
		path, h := mount()
		router.Handle(path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.inFlight.Add(1)
			defer s.inFlight.Add(-1)
			h.ServeHTTP(w, r)
		}))
	}
	s.srv = httptest.NewServer(router)
	s.hc = rpc.WithServiceToken(rpc.NewHTTPClient(), serviceToken)
	t.Cleanup(func() {
		s.hc.CloseIdleConnections()
		s.srv.Close()
	})
	s.subjects = rpc.NewSubjectClient(s.hc, s.srv.URL)
	s.exposure = rpc.NewExposureClient(s.hc, s.srv.URL)
	s.events = rpc.NewEventClient(s.hc, s.srv.URL)
	return s
}

// observedDoses is the exposure store, telling the test about each
// chunk its streamed writes store.
type observedDoses struct {
	*exposure.Store
	onChunk func(n int)
}

func (o observedDoses) WriteDoses(ctx context.Context, study string, now time.Time) (clinical.RecordWriter[clinical.Dose], error) {
	w, err := o.Store.WriteDoses(ctx, study, now)
	if err != nil || o.onChunk == nil {
		return w, err
	}
	return &observedWriter{RecordWriter: w, onChunk: o.onChunk}, nil
}

type observedWriter struct {
	clinical.RecordWriter[clinical.Dose]
	chunks  int
	onChunk func(n int)
}

func (w *observedWriter) Write(ctx context.Context, doses []clinical.Dose) error {
	if err := w.RecordWriter.Write(ctx, doses); err != nil {
		return err
	}
	w.chunks++
	w.onChunk(w.chunks)
	return nil
}

// doses makes n dose records of study S1, spread over subjects, the
// first numbered from.
func doses(from, n int) []clinical.Dose {
	out := make([]clinical.Dose, n)
	for i := range out {
		k := from + i
		out[i] = clinical.Dose{Study: "S1", USUBJID: fmt.Sprintf("01-%03d", k/100), Seq: k%100 + 1, Treatment: "XANOMELINE",
			Dose: 54, HasDose: true, Unit: "mg", Route: "TRANSDERMAL", Start: "2014-01-02", End: "2014-01-16"}
	}
	return out
}

func (s *services) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := s.db.QueryRowContext(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitHandled waits until the services handle no request: a stream's
// handler has returned, its write committed or rolled back.
func (s *services) waitHandled(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); s.inFlight.Load() != 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests still in the services' handlers", s.inFlight.Load())
		}
	}
}

// writeAgain proves the services' database is free for the next write
// (a write left open would leave its rows staged).
func (s *services) writeAgain(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.exposure.Put(ctx, "S1", []clinical.Dose{{Study: "S1", USUBJID: "Z", Seq: 1}}, time.Now()); err != nil {
		t.Fatalf("a write after the stream ended: %v", err)
	}
}

// Each service stores a stream's chunks together when it ends cleanly,
// through the access router's body limit, and answers with one summary.
func TestStreamedWritesCommit(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := startServices(t, db, nil)
		now := time.Now()

		dw, err := s.exposure.WriteDoses(ctx, "S1", now)
		if err != nil {
			t.Fatal(err)
		}
		defer dw.Abort()
		for i := range 3 {
			if err := dw.Write(ctx, doses(i*300, 300)); err != nil { // each message is over the 4 KiB body limit
				t.Fatalf("chunk %d: %v", i+1, err)
			}
		}
		if err := dw.Write(ctx, doses(0, 10)); err != nil { // the same again: unchanged
			t.Fatal(err)
		}
		sum, err := dw.Commit(ctx)
		if err != nil || sum.Inserted != 900 || sum.Unchanged != 10 || len(sum.Subjects) != 9 {
			t.Fatalf("doses: Commit = %d inserted, %d unchanged, %d subjects, %v; want 900, 10, 9",
				sum.Inserted, sum.Unchanged, len(sum.Subjects), err)
		}
		if n := s.count(t, "doses"); n != 900 {
			t.Errorf("%d doses stored, want 900", n)
		}

		sw, err := s.subjects.WriteSubjects(ctx, "S1", now)
		if err != nil {
			t.Fatal(err)
		}
		defer sw.Abort()
		for _, chunk := range [][]clinical.Subject{{{Study: "S1", USUBJID: "A", Site: "701"}}, {{Study: "S1", USUBJID: "B", Site: "702"}}} {
			if err := sw.Write(ctx, chunk); err != nil {
				t.Fatal(err)
			}
		}
		if sum, err := sw.Commit(ctx); err != nil || sum.Inserted != 2 {
			t.Fatalf("subjects: Commit = %+v, %v; want 2 inserted", sum, err)
		}
		if known, err := s.subjects.Known(ctx, "S1", []string{"A", "B"}); err != nil || known["B"] != "702" {
			t.Errorf("subjects stored: %v, %v", known, err)
		}

		ew, err := s.events.WriteEvents(ctx, "S1", now)
		if err != nil {
			t.Fatal(err)
		}
		defer ew.Abort()
		if err := ew.Write(ctx, []clinical.AdverseEvent{{Study: "S1", USUBJID: "A", Seq: 1, Term: "SYNCOPE"}}); err != nil {
			t.Fatal(err)
		}
		if sum, err := ew.Commit(ctx); err != nil || sum.Inserted != 1 || sum.Subjects[0] != "A" {
			t.Fatalf("events: Commit = %+v, %v; want 1 inserted", sum, err)
		}

		// A write of no records commits nothing, and says so.
		empty, err := s.events.WriteEvents(ctx, "S1", now)
		if err != nil {
			t.Fatal(err)
		}
		if sum, err := empty.Commit(ctx); err != nil || sum.Inserted+sum.Updated+sum.Unchanged != 0 {
			t.Errorf("empty write: Commit = %+v, %v; want an empty summary", sum, err)
		}
		if _, err := empty.Commit(ctx); err == nil {
			t.Error("second Commit succeeded")
		}
	})
}

// The services take streamed writes only with the service credential.
func TestStreamedWritesNeedTheServiceCredential(t *testing.T) {
	db := sqldbtest.SQLite(t)
	s := startServices(t, db, nil)
	hc := rpc.NewHTTPClient()
	defer hc.CloseIdleConnections()
	ctx := context.Background()
	w, err := rpc.NewExposureClient(hc, s.srv.URL).WriteDoses(ctx, "S1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if err := w.Write(ctx, doses(0, 10)); err == nil {
		_, err = w.Commit(ctx)
		if connect.CodeOf(errors.Unwrap(err)) != connect.CodeUnauthenticated && !strings.Contains(err.Error(), "unauthenticated") {
			t.Errorf("stream without the credential: %v, want unauthenticated", err)
		}
	}
	if n := s.count(t, "doses"); n != 0 {
		t.Errorf("%d doses stored without the credential", n)
	}
}

// A client that aborts mid-stream leaves nothing stored, and the service's
// handler ends, freeing the database. (Aborted again and again: a client
// that closed its request as it cancelled it would now and then get its
// close to the service first, which would then commit.)
func TestAbortMidStream(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		stored := make(chan int, 10)
		s := startServices(t, db, func(n int) { stored <- n })
		for range 20 {
			w, err := s.exposure.WriteDoses(ctx, "S1", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			for i := range 2 {
				if err := w.Write(ctx, doses(i*100, 100)); err != nil {
					t.Fatal(err)
				}
			}
			for range 2 {
				<-stored // the service wrote both chunks, uncommitted
			}
			w.Abort()
			s.waitHandled(t)
			if n := s.count(t, "doses"); n != 0 {
				t.Fatalf("%d doses stored after the client aborted, want 0", n)
			}
			if err := w.Write(ctx, doses(200, 1)); err == nil {
				t.Error("Write after Abort succeeded")
			}
			if _, err := w.Commit(ctx); err == nil {
				t.Error("Commit after Abort succeeded")
			}
		}
		s.writeAgain(t)
	})
}

// The client's context ending mid-stream aborts the write as Abort does.
func TestCancelledStream(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		stored := make(chan int, 10)
		s := startServices(t, db, func(n int) { stored <- n })
		ctx, cancel := context.WithCancel(context.Background())
		w, err := s.exposure.WriteDoses(ctx, "S1", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		defer w.Abort()
		if err := w.Write(ctx, doses(0, 100)); err != nil {
			t.Fatal(err)
		}
		<-stored
		cancel()
		if _, err := w.Commit(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Commit after the context ended: %v, want context.Canceled", err)
		}
		s.waitHandled(t)
		if n := s.count(t, "doses"); n != 0 {
			t.Errorf("%d doses stored, want 0", n)
		}
		s.writeAgain(t)
	})
}

// A chunk the service fails to store ends the write: the client's next
// Write or its Commit reports the service's error, and nothing is kept.
func TestServiceFailsMidStream(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := startServices(t, db, nil)
		w, err := s.subjects.WriteSubjects(ctx, "S1", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		defer w.Abort()
		var failed error
		for i := 0; i < 50 && failed == nil; i++ {
			chunk := make([]clinical.Subject, 100)
			for j := range chunk {
				chunk[j] = clinical.Subject{Study: "S1", USUBJID: fmt.Sprintf("%02d-%03d", i, j), Site: "701"}
			}
			if i == 2 {
				chunk[50].Study = "S2" // the service refuses the third chunk
			}
			failed = w.Write(ctx, chunk)
		}
		_, err = w.Commit(ctx)
		if err == nil {
			t.Fatal("Commit succeeded after the service refused a chunk")
		}
		if failed != nil {
			err = failed
		}
		if !strings.Contains(err.Error(), `belongs to study "S2"`) {
			t.Errorf("the client was told %v, want the service's reason", err)
		}
		s.waitHandled(t)
		if n := s.count(t, "subjects"); n != 0 {
			t.Errorf("%d subjects stored, want 0", n)
		}
		s.writeAgain(t)
	})
}

// A connection dropped mid-stream leaves nothing stored.
func TestConnectionDroppedMidStream(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		stored := make(chan int, 10)
		s := startServices(t, db, func(n int) { stored <- n })
		w, err := s.exposure.WriteDoses(ctx, "S1", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		defer w.Abort()
		if err := w.Write(ctx, doses(0, 100)); err != nil {
			t.Fatal(err)
		}
		<-stored
		s.srv.CloseClientConnections()
		s.waitHandled(t)
		if n := s.count(t, "doses"); n != 0 {
			t.Errorf("%d doses stored after the connection dropped, want 0", n)
		}
		err = w.Write(ctx, doses(100, 100))
		if err == nil {
			_, err = w.Commit(ctx)
		}
		if !errors.Is(err, clinical.ErrUnavailable) {
			t.Errorf("writing on a dropped connection: %v, want clinical.ErrUnavailable", err)
		}
		s.writeAgain(t)
	})
}

// Every message of a stream names one study; a stream with none cannot
// say which it writes. Either is refused and keeps nothing.
func TestStreamOfBadMessages(t *testing.T) {
	db := sqldbtest.SQLite(t)
	s := startServices(t, db, nil)
	ctx := context.Background()
	c := trialwatchv1connect.NewExposureServiceClient(s.hc, s.srv.URL)
	for name, msgs := range map[string][]*v1.WriteDosesRequest{
		"two studies": {{Study: "S1", Doses: []*v1.Dose{{Usubjid: "A", Seq: 1}}}, {Study: "S2", Doses: []*v1.Dose{{Usubjid: "A", Seq: 2}}}},
		"no study":    {{Doses: []*v1.Dose{{Usubjid: "A", Seq: 1}}}},
		"no message":  nil,
	} {
		stream := c.WriteDoses(ctx)
		for _, m := range msgs {
			if err := stream.Send(m); err != nil && !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
		}
		if _, err := stream.CloseAndReceive(); connect.CodeOf(err) != connect.CodeInvalidArgument {
			t.Errorf("%s: %v, want invalid_argument", name, err)
		}
	}
	if n := s.count(t, "doses"); n != 0 {
		t.Errorf("%d doses stored, want 0", n)
	}
}

// The service holds one message at a time, however long the stream: its
// live heap, sampled after garbage collection while it writes 200,000 dose
// records in 2,000-record messages, grows by well under half of what the
// records take held at once (a service that kept them would grow by more
// than all of it: the decoded messages are larger than the records). Live
// bytes, not heap spans in use: spans vary with the collector's timing.
func TestStreamMemoryStaysBounded(t *testing.T) {
	const total, perChunk = 200_000, 2_000
	heapInUse := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heapInUse()
	all := doses(0, total)
	whole := heapInUse() - before
	runtime.KeepAlive(all)
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		var peak uint64
		s := startServices(t, db, func(n int) {
			if n%10 == 0 {
				peak = max(peak, heapInUse())
			}
		})
		base := heapInUse()
		w, err := s.exposure.WriteDoses(ctx, "S1", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		defer w.Abort()
		for from := 0; from < total; from += perChunk {
			if err := w.Write(ctx, doses(from, perChunk)); err != nil {
				t.Fatal(err)
			}
		}
		sum, err := w.Commit(ctx)
		if err != nil || sum.Inserted != total {
			t.Fatalf("Commit = %d inserted, %v; want %d", sum.Inserted, err, total)
		}
		s.waitHandled(t) // peak is written by the handler, which has returned
		grew := int64(peak) - int64(base)
		t.Logf("live heap: %.1f MiB before, peak %.1f MiB while streaming %d records, which take %.1f MiB held at once",
			mib(base), mib(peak), total, mib(whole))
		if bound := whole / 2; grew > int64(bound) {
			t.Errorf("heap grew %.1f MiB while streaming, want under %.1f MiB", float64(grew)/(1<<20), mib(bound))
		}
		if n := s.count(t, "doses"); n != total {
			t.Errorf("%d doses stored, want %d", n, total)
		}
	})
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }
