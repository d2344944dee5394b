// Package openapitest checks requests and answers against the public API's
// OpenAPI description (access.OpenAPI), for tests that call a node: a
// route, parameter, status or body the description does not allow fails
// them. It is imported by tests only, so the validator stays out of the
// binary.
package openapitest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/trialwatch/trialwatch/access"
)

// Load parses and validates the description as OpenAPI 3.1.
func Load() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(access.OpenAPI())
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", access.OpenAPIPath, err)
	}
	if !doc.IsOpenAPI31OrLater() || doc.IsOpenAPI32OrLater() {
		return nil, fmt.Errorf("%s is OpenAPI %s, want 3.1", access.OpenAPIPath, doc.OpenAPI)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("%s is not valid OpenAPI 3.1: %w", access.OpenAPIPath, err)
	}
	return doc, nil
}

// Validator checks exchanges with a node against the description.
type Validator struct {
	doc    *openapi3.T
	router routers.Router
}

// New loads the description and routes requests by it. Its servers are
// cleared so that a request to any host finds its route.
func New() (*Validator, error) {
	doc, err := Load()
	if err != nil {
		return nil, err
	}
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &Validator{doc: doc, router: router}, nil
}

// Exchange is one request and the answer it got.
type Exchange struct {
	Method, URL string
	Header      http.Header // the request's
	Body        []byte      // the request's
	Status      int
	RespHeader  http.Header
	RespBody    []byte
}

// Check validates the request (path, parameters, body) and the answer
// (status documented for the operation, content type and body) of x. The
// status must be listed explicitly, not only by a range such as 4XX.
func (v *Validator) Check(x Exchange) error {
	req, err := http.NewRequest(x.Method, x.URL, bytes.NewReader(x.Body))
	if err != nil {
		return err
	}
	req.Header = x.Header.Clone()
	route, pathParams, err := v.router.FindRoute(req)
	if err != nil {
		return fmt.Errorf("%s %s: no operation in the description: %w", x.Method, req.URL.Path, err)
	}
	if route.Operation.Responses.Value(fmt.Sprint(x.Status)) == nil {
		return fmt.Errorf("%s %s answered %d, which the description does not list for it", x.Method, route.Path, x.Status)
	}
	opts := &openapi3filter.Options{
		// Who may call is the access matrix's to check; here only the
		// shapes.
		AuthenticationFunc: func(context.Context, *openapi3filter.AuthenticationInput) error { return nil },
		MultiError:         true,
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: route, Options: opts}
	// A request the server refused may be refused for its shape: only the
	// answers of accepted ones say the request was as the description has
	// it.
	if x.Status < 300 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			return fmt.Errorf("%s %s: the request does not match the description: %w", x.Method, route.Path, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: x.Status, Header: x.RespHeader, Options: opts}
	out.SetBodyBytes(x.RespBody)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return fmt.Errorf("%s %s answered %d (%s) that does not match the description: %w", x.Method, route.Path, x.Status,
			x.RespHeader.Get("Content-Type"), trim(err))
	}
	return nil
}

// trim keeps a validation error readable: the schema and value it quotes
// can run to pages.
func trim(err error) error {
	s := err.Error()
	if len(s) > 2000 {
		s = s[:2000] + "…"
	}
	return fmt.Errorf("%s", strings.TrimSpace(s))
}

// Covers reports whether the description is meant to describe path: the
// API and the health routes, not the data services' Connect routes or web
// pages.
func Covers(path string) bool {
	return strings.HasPrefix(path, "/api/") || path == "/healthz" || path == "/readyz"
}

// Do sends req with c and checks the exchange if Covers its path,
// returning the answer with its body read.
func (v *Validator) Do(c *http.Client, req *http.Request) (*http.Response, []byte, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, nil, err
		}
		body = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil || !Covers(req.URL.Path) {
		return resp, rb, err
	}
	return resp, rb, v.Check(Exchange{Method: req.Method, URL: req.URL.String(), Header: req.Header, Body: body,
		Status: resp.StatusCode, RespHeader: resp.Header, RespBody: rb})
}
