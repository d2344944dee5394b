// Package rpc serves trialwatch's data services over Connect and gives the
// checker clients for them. It translates between the protobuf contracts in
// proto/ and the clinical types, and between Connect codes and the
// clinical errors the checker understands.
package rpc

import (
	"context"
	"errors"
	"net/http"

	"connectrpc.com/connect"

	"github.com/trialwatch/trialwatch/clinical"
	v1 "github.com/trialwatch/trialwatch/gen/trialwatch/v1"
	"github.com/trialwatch/trialwatch/gen/trialwatch/v1/trialwatchv1connect"
)

// SubjectReader answers who a subject is.
type SubjectReader interface {
	Subject(ctx context.Context, study, usubjid string) (clinical.Subject, error)
}

// DoseReader lists a subject's dose records.
type DoseReader interface {
	Doses(ctx context.Context, study, usubjid string) ([]clinical.Dose, error)
}

// EventReader lists a subject's adverse events.
type EventReader interface {
	AdverseEvents(ctx context.Context, study, usubjid string) ([]clinical.AdverseEvent, error)
}

// SubjectHandler serves r as the SubjectService; mount it at the path returned.
func SubjectHandler(r SubjectReader, opts ...connect.HandlerOption) (string, http.Handler) {
	return trialwatchv1connect.NewSubjectServiceHandler(subjectServer{r}, opts...)
}

// ExposureHandler serves r as the ExposureService.
func ExposureHandler(r DoseReader, opts ...connect.HandlerOption) (string, http.Handler) {
	return trialwatchv1connect.NewExposureServiceHandler(exposureServer{r}, opts...)
}

// EventHandler serves r as the AdverseEventService.
func EventHandler(r EventReader, opts ...connect.HandlerOption) (string, http.Handler) {
	return trialwatchv1connect.NewAdverseEventServiceHandler(eventServer{r}, opts...)
}

type subjectServer struct{ r SubjectReader }

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

type exposureServer struct{ r DoseReader }

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

type eventServer struct{ r EventReader }

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
	}
	return connect.NewError(connect.CodeInternal, err)
}
