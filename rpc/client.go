package rpc

import (
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
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 0,
	}}
}

// SubjectClient reads subjects from a remote SubjectService.
type SubjectClient struct {
	c trialwatchv1connect.SubjectServiceClient
}

// NewSubjectClient calls the SubjectService at baseURL.
func NewSubjectClient(hc connect.HTTPClient, baseURL string, opts ...connect.ClientOption) *SubjectClient {
	return &SubjectClient{trialwatchv1connect.NewSubjectServiceClient(hc, baseURL, opts...)}
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
	c trialwatchv1connect.ExposureServiceClient
}

// NewExposureClient calls the ExposureService at baseURL.
func NewExposureClient(hc connect.HTTPClient, baseURL string, opts ...connect.ClientOption) *ExposureClient {
	return &ExposureClient{trialwatchv1connect.NewExposureServiceClient(hc, baseURL, opts...)}
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
	c trialwatchv1connect.AdverseEventServiceClient
}

// NewEventClient calls the AdverseEventService at baseURL.
func NewEventClient(hc connect.HTTPClient, baseURL string, opts ...connect.ClientOption) *EventClient {
	return &EventClient{trialwatchv1connect.NewAdverseEventServiceClient(hc, baseURL, opts...)}
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
