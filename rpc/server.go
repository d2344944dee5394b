// Package rpc serves trialwatch's data services over Connect and gives the
// checker clients for them. It translates between the protobuf contracts in
// proto/ and the clinical types, and between Connect codes and the
// clinical errors the checker understands.
package rpc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"connectrpc.com/connect"

	"github.com/trialwatch/trialwatch/clinical"
	v1 "github.com/trialwatch/trialwatch/gen/trialwatch/v1"
	"github.com/trialwatch/trialwatch/gen/trialwatch/v1/trialwatchv1connect"
)

// SubjectStore is what the SubjectService serves: the domain's ports of
// the subjects service, and the unary write.
type SubjectStore interface {
	clinical.SubjectSource
	clinical.SubjectDirectory
	Put(ctx context.Context, study string, subs []clinical.Subject, now time.Time) (clinical.Summary, error)
}

// DoseStore is what the ExposureService serves.
type DoseStore interface {
	clinical.ExposureSource
	Put(ctx context.Context, study string, doses []clinical.Dose, now time.Time) (clinical.Summary, error)
}

// EventStore is what the AdverseEventService serves.
type EventStore interface {
	clinical.EventSource
	Put(ctx context.Context, study string, evs []clinical.AdverseEvent, now time.Time) (clinical.Summary, error)
}

// SubjectHandler serves r as the SubjectService; mount it at the path returned.
func SubjectHandler(r SubjectStore, opts ...connect.HandlerOption) (string, http.Handler) {
	return trialwatchv1connect.NewSubjectServiceHandler(subjectServer{r}, opts...)
}

// ExposureHandler serves r as the ExposureService.
func ExposureHandler(r DoseStore, opts ...connect.HandlerOption) (string, http.Handler) {
	return trialwatchv1connect.NewExposureServiceHandler(exposureServer{r}, opts...)
}

// EventHandler serves r as the AdverseEventService.
func EventHandler(r EventStore, opts ...connect.HandlerOption) (string, http.Handler) {
	return trialwatchv1connect.NewAdverseEventServiceHandler(eventServer{r}, opts...)
}

type subjectServer struct{ r SubjectStore }

func (s subjectServer) GetSubject(ctx context.Context, req *connect.Request[v1.GetSubjectRequest]) (*connect.Response[v1.GetSubjectResponse], error) {
	if err := requireKey(req.Msg.GetStudy(), req.Msg.GetUsubjid()); err != nil {
		return nil, err
	}
	sub, err := s.r.Subject(ctx, req.Msg.GetStudy(), req.Msg.GetUsubjid())
	if err != nil {
		return nil, toConnect(ctx, err)
	}
	return connect.NewResponse(&v1.GetSubjectResponse{Subject: subjectToProto(sub)}), nil
}

type exposureServer struct{ r DoseStore }

func (s exposureServer) ListDoses(ctx context.Context, req *connect.Request[v1.ListDosesRequest]) (*connect.Response[v1.ListDosesResponse], error) {
	if err := requireKey(req.Msg.GetStudy(), req.Msg.GetUsubjid()); err != nil {
		return nil, err
	}
	doses, err := s.r.Doses(ctx, req.Msg.GetStudy(), req.Msg.GetUsubjid())
	if err != nil {
		return nil, toConnect(ctx, err)
	}
	out := &v1.ListDosesResponse{Doses: make([]*v1.Dose, len(doses))}
	for i, d := range doses {
		out.Doses[i] = doseToProto(d)
	}
	return connect.NewResponse(out), nil
}

type eventServer struct{ r EventStore }

func (s eventServer) ListAdverseEvents(ctx context.Context, req *connect.Request[v1.ListAdverseEventsRequest]) (*connect.Response[v1.ListAdverseEventsResponse], error) {
	if err := requireKey(req.Msg.GetStudy(), req.Msg.GetUsubjid()); err != nil {
		return nil, err
	}
	evs, err := s.r.AdverseEvents(ctx, req.Msg.GetStudy(), req.Msg.GetUsubjid())
	if err != nil {
		return nil, toConnect(ctx, err)
	}
	out := &v1.ListAdverseEventsResponse{Events: make([]*v1.AdverseEvent, len(evs))}
	for i, e := range evs {
		out.Events[i] = eventToProto(e)
	}
	return connect.NewResponse(out), nil
}

func (s subjectServer) FindSubjects(ctx context.Context, req *connect.Request[v1.FindSubjectsRequest]) (*connect.Response[v1.FindSubjectsResponse], error) {
	known, err := s.r.Known(ctx, req.Msg.GetStudy(), req.Msg.GetUsubjids())
	if err != nil {
		return nil, toConnect(ctx, err)
	}
	out := &v1.FindSubjectsResponse{Known: make([]string, 0, len(known)), Sites: known}
	for id := range known {
		out.Known = append(out.Known, id)
	}
	slices.Sort(out.Known)
	return connect.NewResponse(out), nil
}

func (s subjectServer) PutSubjects(ctx context.Context, req *connect.Request[v1.PutSubjectsRequest]) (*connect.Response[v1.PutSummary], error) {
	subs := make([]clinical.Subject, len(req.Msg.GetSubjects()))
	for i, p := range req.Msg.GetSubjects() {
		subs[i] = subjectFromProto(p)
	}
	return put(ctx, req.Msg.GetStudy(), subs, s.r.Put)
}

func (s exposureServer) PutDoses(ctx context.Context, req *connect.Request[v1.PutDosesRequest]) (*connect.Response[v1.PutSummary], error) {
	study := req.Msg.GetStudy()
	doses := make([]clinical.Dose, len(req.Msg.GetDoses()))
	for i, p := range req.Msg.GetDoses() {
		doses[i] = doseFromProto(study, p.GetUsubjid(), p)
	}
	return put(ctx, study, doses, s.r.Put)
}

func (s eventServer) PutAdverseEvents(ctx context.Context, req *connect.Request[v1.PutAdverseEventsRequest]) (*connect.Response[v1.PutSummary], error) {
	study := req.Msg.GetStudy()
	evs := make([]clinical.AdverseEvent, len(req.Msg.GetEvents()))
	for i, p := range req.Msg.GetEvents() {
		evs[i] = eventFromProto(study, p.GetUsubjid(), p)
	}
	return put(ctx, study, evs, s.r.Put)
}

// put runs one store write and answers with its summary.
func put[T any](ctx context.Context, study string, items []T, store func(context.Context, string, []T, time.Time) (clinical.Summary, error)) (*connect.Response[v1.PutSummary], error) {
	if study == "" {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("study is required"))
	}
	sum, err := store(ctx, study, items, time.Now())
	if err != nil {
		return nil, toConnect(ctx, err)
	}
	return summaryResponse(sum), nil
}

func summaryResponse(sum clinical.Summary) *connect.Response[v1.PutSummary] {
	return connect.NewResponse(&v1.PutSummary{Inserted: int32(sum.Inserted), Updated: int32(sum.Updated),
		Unchanged: int32(sum.Unchanged), ChangedSubjects: sum.Subjects})
}

func (s subjectServer) WriteSubjects(ctx context.Context, stream *connect.ClientStream[v1.WriteSubjectsRequest]) (*connect.Response[v1.PutSummary], error) {
	w, ok := s.r.(clinical.SubjectWriter)
	if !ok {
		return nil, noStreamedWrites
	}
	return writeStream(ctx, stream, w.WriteSubjects, func(m *v1.WriteSubjectsRequest) (string, []clinical.Subject) {
		subs := make([]clinical.Subject, len(m.GetSubjects()))
		for i, p := range m.GetSubjects() {
			subs[i] = subjectFromProto(p)
		}
		return m.GetStudy(), subs
	})
}

func (s exposureServer) WriteDoses(ctx context.Context, stream *connect.ClientStream[v1.WriteDosesRequest]) (*connect.Response[v1.PutSummary], error) {
	w, ok := s.r.(clinical.DoseWriter)
	if !ok {
		return nil, noStreamedWrites
	}
	return writeStream(ctx, stream, w.WriteDoses, func(m *v1.WriteDosesRequest) (string, []clinical.Dose) {
		study := m.GetStudy()
		doses := make([]clinical.Dose, len(m.GetDoses()))
		for i, p := range m.GetDoses() {
			doses[i] = doseFromProto(study, p.GetUsubjid(), p)
		}
		return study, doses
	})
}

func (s eventServer) WriteAdverseEvents(ctx context.Context, stream *connect.ClientStream[v1.WriteAdverseEventsRequest]) (*connect.Response[v1.PutSummary], error) {
	w, ok := s.r.(clinical.EventWriter)
	if !ok {
		return nil, noStreamedWrites
	}
	return writeStream(ctx, stream, w.WriteEvents, func(m *v1.WriteAdverseEventsRequest) (string, []clinical.AdverseEvent) {
		study := m.GetStudy()
		evs := make([]clinical.AdverseEvent, len(m.GetEvents()))
		for i, p := range m.GetEvents() {
			evs[i] = eventFromProto(study, p.GetUsubjid(), p)
		}
		return study, evs
	})
}

// noStreamedWrites answers a streamed write to a store that takes only
// whole batches.
var noStreamedWrites = connect.NewError(connect.CodeUnimplemented, errors.New("this service's store does not take streamed writes"))

// writeStream stores a client stream's chunks, one message at a time, in
// a writer opened on the first message, and commits them when the stream
// ends cleanly. A stream cut short (the client cancelled or went away), a
// bad message or a failed chunk aborts the write: nothing is kept.
func writeStream[M, T any](ctx context.Context, stream *connect.ClientStream[M],
	open func(ctx context.Context, study string, now time.Time) (clinical.RecordWriter[T], error),
	chunk func(*M) (study string, records []T)) (*connect.Response[v1.PutSummary], error) {
	var w clinical.RecordWriter[T]
	defer func() {
		if w != nil {
			w.Abort() // nothing after Commit
		}
	}()
	var study string
	for stream.Receive() {
		s, records := chunk(stream.Msg())
		switch {
		case s == "":
			return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("study is required in every message"))
		case w == nil:
			var err error
			if w, err = open(ctx, s, time.Now()); err != nil {
				return nil, toConnect(ctx, err)
			}
			study = s
		case s != study:
			return nil, connect.NewError(connect.CodeInvalidArgument,
				fmt.Errorf("a message names study %q but the stream writes study %q", s, study))
		}
		if err := w.Write(ctx, records); err != nil {
			return nil, toConnect(ctx, err)
		}
	}
	if err := stream.Err(); err != nil {
		return nil, err
	}
	if w == nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("the stream held no message: its first message names the study"))
	}
	sum, err := w.Commit(ctx)
	if err != nil {
		return nil, toConnect(ctx, err)
	}
	return summaryResponse(sum), nil
}

func requireKey(study, usubjid string) error {
	switch {
	case study == "":
		return connect.NewError(connect.CodeInvalidArgument, errors.New("study is required"))
	case usubjid == "":
		return connect.NewError(connect.CodeInvalidArgument, errors.New("usubjid is required"))
	}
	return nil
}

// toConnect gives a store error the Connect code a caller can act on. A
// failed read after the caller's deadline is reported as the deadline, not
// as an internal error.
func toConnect(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, clinical.ErrNotFound):
		return connect.NewError(connect.CodeNotFound, err)
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, err)
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, err)
	case errors.Is(err, clinical.ErrUnavailable):
		return connect.NewError(connect.CodeUnavailable, err)
	case errors.Is(err, clinical.ErrConflict):
		return connect.NewError(connect.CodeAborted, err)
	}
	return connect.NewError(connect.CodeInternal, err)
}
