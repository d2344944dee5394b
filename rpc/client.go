package rpc

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"

	"connectrpc.com/connect"

	"github.com/trialwatch/trialwatch/clinical"
	v1 "github.com/trialwatch/trialwatch/gen/trialwatch/v1"
	"github.com/trialwatch/trialwatch/gen/trialwatch/v1/trialwatchv1connect"
)

// NewHTTPClient returns the HTTP client the checker uses for its upstreams.
// It has no overall timeout on purpose: every call carries the check's
// deadline in its context, and Connect sends it upstream.
func NewHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}}
}

// WithServiceToken makes hc present the internal service credential on
// every call, which the data services require.
func WithServiceToken(hc *http.Client, token string) *http.Client {
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = serviceAuth{base: base, header: "Bearer " + token}
	return hc
}

type serviceAuth struct {
	base   http.RoundTripper
	header string
}

func (s serviceAuth) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context()) // a RoundTripper must not change the caller's request
	r.Header.Set("Authorization", s.header)
	return s.base.RoundTrip(r)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// wrapped transport, so a stopping node leaves no idle connection behind.
func (s serviceAuth) CloseIdleConnections() {
	if c, ok := s.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// SubjectClient reads subjects from a remote SubjectService.
type SubjectClient struct {
	c       trialwatchv1connect.SubjectServiceClient
	streams trialwatchv1connect.SubjectServiceClient // c for streamed writes, see cutOnCancel
}

// NewSubjectClient calls the SubjectService at baseURL.
func NewSubjectClient(hc connect.HTTPClient, baseURL string, opts ...connect.ClientOption) *SubjectClient {
	return &SubjectClient{c: trialwatchv1connect.NewSubjectServiceClient(hc, baseURL, opts...),
		streams: trialwatchv1connect.NewSubjectServiceClient(cutOnCancel{hc}, baseURL, opts...)}
}

// Subject implements SubjectReader.
func (c *SubjectClient) Subject(ctx context.Context, study, usubjid string) (clinical.Subject, error) {
	res, err := c.c.GetSubject(ctx, connect.NewRequest(&v1.GetSubjectRequest{Study: study, Usubjid: usubjid}))
	if err != nil {
		return clinical.Subject{}, fromConnect(ctx, "subjects", err)
	}
	return subjectFromProto(res.Msg.GetSubject()), nil
}

// ExposureClient reads dose records from a remote ExposureService.
type ExposureClient struct {
	c       trialwatchv1connect.ExposureServiceClient
	streams trialwatchv1connect.ExposureServiceClient // c for streamed writes, see cutOnCancel
}

// NewExposureClient calls the ExposureService at baseURL.
func NewExposureClient(hc connect.HTTPClient, baseURL string, opts ...connect.ClientOption) *ExposureClient {
	return &ExposureClient{c: trialwatchv1connect.NewExposureServiceClient(hc, baseURL, opts...),
		streams: trialwatchv1connect.NewExposureServiceClient(cutOnCancel{hc}, baseURL, opts...)}
}

// Doses implements DoseReader.
func (c *ExposureClient) Doses(ctx context.Context, study, usubjid string) ([]clinical.Dose, error) {
	res, err := c.c.ListDoses(ctx, connect.NewRequest(&v1.ListDosesRequest{Study: study, Usubjid: usubjid}))
	if err != nil {
		return nil, fromConnect(ctx, "exposure", err)
	}
	out := make([]clinical.Dose, len(res.Msg.GetDoses()))
	for i, d := range res.Msg.GetDoses() {
		out[i] = doseFromProto(study, usubjid, d)
	}
	return out, nil
}

// EventClient reads adverse events from a remote AdverseEventService.
type EventClient struct {
	c       trialwatchv1connect.AdverseEventServiceClient
	streams trialwatchv1connect.AdverseEventServiceClient // c for streamed writes, see cutOnCancel
}

// NewEventClient calls the AdverseEventService at baseURL.
func NewEventClient(hc connect.HTTPClient, baseURL string, opts ...connect.ClientOption) *EventClient {
	return &EventClient{c: trialwatchv1connect.NewAdverseEventServiceClient(hc, baseURL, opts...),
		streams: trialwatchv1connect.NewAdverseEventServiceClient(cutOnCancel{hc}, baseURL, opts...)}
}

// AdverseEvents implements EventReader.
func (c *EventClient) AdverseEvents(ctx context.Context, study, usubjid string) ([]clinical.AdverseEvent, error) {
	res, err := c.c.ListAdverseEvents(ctx, connect.NewRequest(&v1.ListAdverseEventsRequest{Study: study, Usubjid: usubjid}))
	if err != nil {
		return nil, fromConnect(ctx, "adverse events", err)
	}
	out := make([]clinical.AdverseEvent, len(res.Msg.GetEvents()))
	for i, e := range res.Msg.GetEvents() {
		out[i] = eventFromProto(study, usubjid, e)
	}
	return out, nil
}

// fromConnect turns a Connect error into the clinical or context error the
// checker classifies, keeping the original text for the log.
func fromConnect(ctx context.Context, service string, err error) error {
	var kind error
	switch code := connect.CodeOf(err); {
	case code == connect.CodeNotFound:
		kind = clinical.ErrNotFound
	case code == connect.CodeAborted:
		kind = clinical.ErrConflict
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || code == connect.CodeDeadlineExceeded:
		kind = context.DeadlineExceeded
	case ctx.Err() != nil:
		kind = ctx.Err()
	case code == connect.CodeUnavailable || brokenConnection(err):
		kind = clinical.ErrUnavailable
	default:
		return fmt.Errorf("%s service: %w", service, err)
	}
	return fmt.Errorf("%s service: %w (%v)", service, kind, err)
}

// brokenConnection recognises a peer that went away mid-call, which Connect
// may report with a generic code.
func brokenConnection(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.EPIPE)
}

// Known implements the subject lookup of an upload: which of ids the
// study has, each with its site.
func (c *SubjectClient) Known(ctx context.Context, study string, ids []string) (map[string]string, error) {
	res, err := c.c.FindSubjects(ctx, connect.NewRequest(&v1.FindSubjectsRequest{Study: study, Usubjids: ids}))
	if err != nil {
		return nil, fromConnect(ctx, "subjects", err)
	}
	known := make(map[string]string, len(res.Msg.GetKnown()))
	for _, id := range res.Msg.GetKnown() {
		site, ok := res.Msg.GetSites()[id]
		if !ok {
			return nil, fmt.Errorf("subjects service: subject %s found without its site", id)
		}
		known[id] = site
	}
	return known, nil
}

// Put stores subjects in the remote service.
func (c *SubjectClient) Put(ctx context.Context, study string, subs []clinical.Subject, _ time.Time) (clinical.Summary, error) {
	msg := &v1.PutSubjectsRequest{Study: study, Subjects: make([]*v1.Subject, len(subs))}
	for i, s := range subs {
		msg.Subjects[i] = subjectToProto(s)
	}
	res, err := c.c.PutSubjects(ctx, connect.NewRequest(msg))
	return summaryFrom(ctx, "subjects", res, err)
}

// Put stores dose records in the remote service.
func (c *ExposureClient) Put(ctx context.Context, study string, doses []clinical.Dose, _ time.Time) (clinical.Summary, error) {
	msg := &v1.PutDosesRequest{Study: study, Doses: make([]*v1.Dose, len(doses))}
	for i, d := range doses {
		msg.Doses[i] = doseToProto(d)
	}
	res, err := c.c.PutDoses(ctx, connect.NewRequest(msg))
	return summaryFrom(ctx, "exposure", res, err)
}

// Put stores adverse events in the remote service.
func (c *EventClient) Put(ctx context.Context, study string, evs []clinical.AdverseEvent, _ time.Time) (clinical.Summary, error) {
	msg := &v1.PutAdverseEventsRequest{Study: study, Events: make([]*v1.AdverseEvent, len(evs))}
	for i, e := range evs {
		msg.Events[i] = eventToProto(e)
	}
	res, err := c.c.PutAdverseEvents(ctx, connect.NewRequest(msg))
	return summaryFrom(ctx, "adverse events", res, err)
}

func summaryFrom(ctx context.Context, service string, res *connect.Response[v1.PutSummary], err error) (clinical.Summary, error) {
	if err != nil {
		return clinical.Summary{}, fromConnect(ctx, service, err)
	}
	m := res.Msg
	return clinical.Summary{Inserted: int(m.GetInserted()), Updated: int(m.GetUpdated()), Unchanged: int(m.GetUnchanged()),
		Subjects: m.GetChangedSubjects()}, nil
}

// WriteSubjects implements clinical.SubjectWriter: the subjects go to the
// remote service in a client stream, one message a chunk. now is the
// service's to choose, as in Put.
func (c *SubjectClient) WriteSubjects(ctx context.Context, study string, _ time.Time) (clinical.RecordWriter[clinical.Subject], error) {
	return openStream(ctx, "subjects", c.streams.WriteSubjects, func(subs []clinical.Subject) *v1.WriteSubjectsRequest {
		msg := &v1.WriteSubjectsRequest{Study: study, Subjects: make([]*v1.Subject, len(subs))}
		for i, s := range subs {
			msg.Subjects[i] = subjectToProto(s)
		}
		return msg
	}), nil
}

// WriteDoses implements clinical.DoseWriter, as WriteSubjects does.
func (c *ExposureClient) WriteDoses(ctx context.Context, study string, _ time.Time) (clinical.RecordWriter[clinical.Dose], error) {
	return openStream(ctx, "exposure", c.streams.WriteDoses, func(doses []clinical.Dose) *v1.WriteDosesRequest {
		msg := &v1.WriteDosesRequest{Study: study, Doses: make([]*v1.Dose, len(doses))}
		for i, d := range doses {
			msg.Doses[i] = doseToProto(d)
		}
		return msg
	}), nil
}

// WriteEvents implements clinical.EventWriter, as WriteSubjects does.
func (c *EventClient) WriteEvents(ctx context.Context, study string, _ time.Time) (clinical.RecordWriter[clinical.AdverseEvent], error) {
	return openStream(ctx, "adverse events", c.streams.WriteAdverseEvents, func(evs []clinical.AdverseEvent) *v1.WriteAdverseEventsRequest {
		msg := &v1.WriteAdverseEventsRequest{Study: study, Events: make([]*v1.AdverseEvent, len(evs))}
		for i, e := range evs {
			msg.Events[i] = eventToProto(e)
		}
		return msg
	}), nil
}

// streamWriter is a clinical.RecordWriter over a Connect client stream.
// The service commits when the stream ends cleanly (Commit) and keeps
// nothing when it is cut short (Abort cancels the stream's context).
type streamWriter[T, M any] struct {
	service string
	stream  *connect.ClientStreamForClient[M, v1.PutSummary]
	ctx     context.Context // the stream's
	cancel  context.CancelFunc
	message func([]T) *M
	sent    bool  // a message went out: the service has begun the write
	closed  bool  // the request is closed, the response taken
	over    error // why the write is over
}

// openStream starts a client stream with a context of the writer's own,
// so that Abort can cut it. The request goes out with the first message.
func openStream[T, M any](ctx context.Context, service string,
	call func(context.Context) *connect.ClientStreamForClient[M, v1.PutSummary], message func([]T) *M) *streamWriter[T, M] {
	ctx, cancel := context.WithCancel(ctx)
	return &streamWriter[T, M]{service: service, stream: call(ctx), ctx: ctx, cancel: cancel, message: message}
}

// Write sends records in one message. When it fails, or when ctx ends
// while it runs, the whole write is over and the service keeps nothing.
func (w *streamWriter[T, M]) Write(ctx context.Context, records []T) error {
	if w.over != nil {
		return w.over
	}
	if err := ctx.Err(); err != nil {
		err = fromConnect(ctx, w.service, err)
		w.end(fmt.Errorf("the write was abandoned: %w", err))
		return err
	}
	stop := context.AfterFunc(ctx, w.cancel) // ctx ending cuts the whole write
	defer stop()
	if _, err := w.send(records); err != nil {
		err = fromConnect(ctx, w.service, err)
		w.end(fmt.Errorf("an earlier chunk failed: %w", err))
		return err
	}
	return nil
}

// Commit ends the stream and returns the service's summary once it has
// committed. Like any call, one whose ctx ends while the service commits
// may fail although the records were stored.
func (w *streamWriter[T, M]) Commit(ctx context.Context) (clinical.Summary, error) {
	if w.over != nil {
		return clinical.Summary{}, w.over
	}
	// A write whose context ended must not commit: it is aborted here,
	// before its request is closed.
	if err := cmp.Or(ctx.Err(), w.ctx.Err()); err != nil {
		err = fromConnect(ctx, w.service, err)
		w.end(fmt.Errorf("the write was abandoned: %w", err))
		return clinical.Summary{}, err
	}
	stop := context.AfterFunc(ctx, w.cancel)
	defer stop()
	var res *connect.Response[v1.PutSummary]
	var err error
	if !w.sent {
		// The service begins the write on the first message, which
		// names the study: send one even without records.
		res, err = w.send(nil)
	}
	if err == nil && !w.closed {
		res, err = w.receive()
	}
	sum, err := summaryFrom(ctx, w.service, res, err)
	w.end(errors.New("the write is already committed"))
	if err != nil {
		w.over = fmt.Errorf("the commit failed: %w", err)
	}
	return sum, err
}

// Abort cuts the stream, so the service rolls the write back; after
// Commit it does nothing.
func (w *streamWriter[T, M]) Abort() { w.end(errors.New("the write was aborted")) }

// send sends one message. A service that answered early (it failed)
// makes Send return io.EOF; its answer is then taken, and returned.
func (w *streamWriter[T, M]) send(records []T) (*connect.Response[v1.PutSummary], error) {
	w.sent = true
	err := w.stream.Send(w.message(records))
	if errors.Is(err, io.EOF) {
		return w.receive()
	}
	return nil, err
}

// receive closes the request and takes the service's answer.
func (w *streamWriter[T, M]) receive() (*connect.Response[v1.PutSummary], error) {
	w.closed = true
	return w.stream.CloseAndReceive()
}

// cutOnCancel makes the body of a request fail when the request's
// context ends, where net/http would wait for more of it: a streamed
// write's body is a pipe that Abort leaves open (see end), and the
// transport, cancelled, drops the connection but still waits for the
// pipe to close before the call returns.
type cutOnCancel struct{ hc connect.HTTPClient }

func (c cutOnCancel) Do(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return c.hc.Do(req)
	}
	body := req.Body
	stop := context.AfterFunc(req.Context(), func() { body.Close() })
	req = req.WithContext(req.Context())
	req.Body = closeFunc{body, func() error { stop(); return body.Close() }}
	return c.hc.Do(req)
}

type closeFunc struct {
	io.Reader
	close func() error
}

func (c closeFunc) Close() error { return c.close() }

// end makes the write over, for why, and releases the stream. It cuts
// the request by cancelling it and never closes it: a request closed
// cleanly ends the stream cleanly, and the service would commit if the
// close reached it before the cancellation.
func (w *streamWriter[T, M]) end(why error) {
	if w.over != nil {
		return
	}
	w.over = why
	w.cancel()
	if w.sent && !w.closed {
		w.closed = true
		if conn, err := w.stream.Conn(); err == nil {
			conn.CloseResponse()
		}
	}
}

var (
	_ clinical.SubjectWriter = (*SubjectClient)(nil)
	_ clinical.DoseWriter    = (*ExposureClient)(nil)
	_ clinical.EventWriter   = (*EventClient)(nil)
)
