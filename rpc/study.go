package rpc

import (
	"context"
	"errors"
	"time"

	"connectrpc.com/connect"

	"github.com/trialwatch/trialwatch/clinical"
	v1 "github.com/trialwatch/trialwatch/gen/trialwatch/v1"
)

// The study-wide reads (clinical.StudySubjects, StudyEvents,
// StudyDispositions) and the DS and CM writes: the data site key risk
// indicators need. A study-wide read is a server stream of messages of
// at most listPart records each, so that no message is huge however big
// the study (tens of thousands of subjects, hundreds of thousands of
// adverse events).

// listPart bounds the records of one message of a study-wide read: a few
// hundred kilobytes.
const listPart = 2000

// noStudyReads answers a study-wide read of a store that has none.
var noStudyReads = connect.NewError(connect.CodeUnimplemented, errors.New("this service's store does not read whole studies"))

// sendAll reads a whole study with read and sends it in parts, in order.
func sendAll[T any](ctx context.Context, study string, read func(context.Context, string) ([]T, error), send func([]T) error) error {
	if study == "" {
		return connect.NewError(connect.CodeInvalidArgument, errors.New("study is required"))
	}
	all, err := read(ctx, study)
	if err != nil {
		return toConnect(ctx, err)
	}
	for start := 0; start < len(all); start += listPart {
		if err := send(all[start:min(start+listPart, len(all))]); err != nil {
			return err
		}
	}
	return nil
}

func (s subjectServer) ListStudySubjects(ctx context.Context, req *connect.Request[v1.ListStudySubjectsRequest],
	stream *connect.ServerStream[v1.ListStudySubjectsResponse]) error {
	r, ok := s.r.(clinical.StudySubjects)
	if !ok {
		return noStudyReads
	}
	return sendAll(ctx, req.Msg.GetStudy(), r.SubjectsIn, func(part []clinical.Subject) error {
		return stream.Send(&v1.ListStudySubjectsResponse{Subjects: convertAll(part, subjectToProto)})
	})
}

func (s subjectServer) ListStudyDispositions(ctx context.Context, req *connect.Request[v1.ListStudyDispositionsRequest],
	stream *connect.ServerStream[v1.ListStudyDispositionsResponse]) error {
	r, ok := s.r.(clinical.StudyDispositions)
	if !ok {
		return noStudyReads
	}
	return sendAll(ctx, req.Msg.GetStudy(), r.DispositionsIn, func(part []clinical.Disposition) error {
		return stream.Send(&v1.ListStudyDispositionsResponse{Dispositions: convertAll(part, dispositionToProto)})
	})
}

func (s eventServer) ListStudyAdverseEvents(ctx context.Context, req *connect.Request[v1.ListStudyAdverseEventsRequest],
	stream *connect.ServerStream[v1.ListStudyAdverseEventsResponse]) error {
	r, ok := s.r.(clinical.StudyEvents)
	if !ok {
		return noStudyReads
	}
	return sendAll(ctx, req.Msg.GetStudy(), r.AdverseEventsIn, func(part []clinical.AdverseEvent) error {
		return stream.Send(&v1.ListStudyAdverseEventsResponse{Events: convertAll(part, eventToProto)})
	})
}

func (s subjectServer) WriteDispositions(ctx context.Context, stream *connect.ClientStream[v1.WriteDispositionsRequest]) (*connect.Response[v1.PutSummary], error) {
	w, ok := s.r.(clinical.DispositionWriter)
	if !ok {
		return nil, noStreamedWrites
	}
	return writeStream(ctx, stream, w.WriteDispositions, func(m *v1.WriteDispositionsRequest) (string, []clinical.Disposition) {
		study := m.GetStudy()
		return study, convertAll(m.GetDispositions(), func(p *v1.Disposition) clinical.Disposition { return dispositionFromProto(study, p) })
	})
}

func (s exposureServer) WriteConMeds(ctx context.Context, stream *connect.ClientStream[v1.WriteConMedsRequest]) (*connect.Response[v1.PutSummary], error) {
	w, ok := s.r.(clinical.ConMedWriter)
	if !ok {
		return nil, noStreamedWrites
	}
	return writeStream(ctx, stream, w.WriteConMeds, func(m *v1.WriteConMedsRequest) (string, []clinical.ConMed) {
		study := m.GetStudy()
		return study, convertAll(m.GetConMeds(), func(p *v1.ConMed) clinical.ConMed { return conMedFromProto(study, p) })
	})
}

// receiveAll takes every message of a study-wide read's stream and
// returns their records in order; an empty list, not nil, for none.
func receiveAll[M, T any](ctx context.Context, service string,
	call func(context.Context) (*connect.ServerStreamForClient[M], error), records func(*M) []T) ([]T, error) {
	stream, err := call(ctx)
	if err != nil {
		return nil, fromConnect(ctx, service, err)
	}
	defer stream.Close()
	out := []T{}
	for stream.Receive() {
		out = append(out, records(stream.Msg())...)
	}
	if err := stream.Err(); err != nil {
		return nil, fromConnect(ctx, service, err)
	}
	return out, nil
}

// SubjectsIn implements clinical.StudySubjects.
func (c *SubjectClient) SubjectsIn(ctx context.Context, study string) ([]clinical.Subject, error) {
	return receiveAll(ctx, "subjects", func(ctx context.Context) (*connect.ServerStreamForClient[v1.ListStudySubjectsResponse], error) {
		return c.c.ListStudySubjects(ctx, connect.NewRequest(&v1.ListStudySubjectsRequest{Study: study}))
	}, func(m *v1.ListStudySubjectsResponse) []clinical.Subject {
		return convertAll(m.GetSubjects(), subjectFromProto)
	})
}

// DispositionsIn implements clinical.StudyDispositions.
func (c *SubjectClient) DispositionsIn(ctx context.Context, study string) ([]clinical.Disposition, error) {
	return receiveAll(ctx, "subjects", func(ctx context.Context) (*connect.ServerStreamForClient[v1.ListStudyDispositionsResponse], error) {
		return c.c.ListStudyDispositions(ctx, connect.NewRequest(&v1.ListStudyDispositionsRequest{Study: study}))
	}, func(m *v1.ListStudyDispositionsResponse) []clinical.Disposition {
		return convertAll(m.GetDispositions(), func(p *v1.Disposition) clinical.Disposition { return dispositionFromProto(study, p) })
	})
}

// AdverseEventsIn implements clinical.StudyEvents.
func (c *EventClient) AdverseEventsIn(ctx context.Context, study string) ([]clinical.AdverseEvent, error) {
	return receiveAll(ctx, "adverse events", func(ctx context.Context) (*connect.ServerStreamForClient[v1.ListStudyAdverseEventsResponse], error) {
		return c.c.ListStudyAdverseEvents(ctx, connect.NewRequest(&v1.ListStudyAdverseEventsRequest{Study: study}))
	}, func(m *v1.ListStudyAdverseEventsResponse) []clinical.AdverseEvent {
		return convertAll(m.GetEvents(), func(p *v1.AdverseEvent) clinical.AdverseEvent { return eventFromProto(study, p.GetUsubjid(), p) })
	})
}

// WriteDispositions implements clinical.DispositionWriter, as
// WriteSubjects does.
func (c *SubjectClient) WriteDispositions(ctx context.Context, study string, _ time.Time) (clinical.RecordWriter[clinical.Disposition], error) {
	return openStream(ctx, "subjects", c.streams.WriteDispositions, func(ds []clinical.Disposition) *v1.WriteDispositionsRequest {
		return &v1.WriteDispositionsRequest{Study: study, Dispositions: convertAll(ds, dispositionToProto)}
	}), nil
}

// WriteConMeds implements clinical.ConMedWriter, as WriteSubjects does.
func (c *ExposureClient) WriteConMeds(ctx context.Context, study string, _ time.Time) (clinical.RecordWriter[clinical.ConMed], error) {
	return openStream(ctx, "exposure", c.streams.WriteConMeds, func(cms []clinical.ConMed) *v1.WriteConMedsRequest {
		return &v1.WriteConMedsRequest{Study: study, ConMeds: convertAll(cms, conMedToProto)}
	}), nil
}

var (
	_ clinical.StudySubjects     = (*SubjectClient)(nil)
	_ clinical.StudyDispositions = (*SubjectClient)(nil)
	_ clinical.StudyEvents       = (*EventClient)(nil)
	_ clinical.DispositionWriter = (*SubjectClient)(nil)
	_ clinical.ConMedWriter      = (*ExposureClient)(nil)
)
