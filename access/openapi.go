package access

import (
	_ "embed"
	"net/http"

	"github.com/trialwatch/trialwatch/internal/jsonhttp"
)

// openAPI is the OpenAPI 3.1 description of the public API: every route of
// Rules under /api/ and the health routes (not the data services' Connect
// routes). TestOpenAPIMatchesRules keeps it equal to the rules table.
//
//go:embed openapi.json
var openAPI []byte

// OpenAPIPath is where a node serves OpenAPI.
const OpenAPIPath = "/api/v1/openapi.json"

// OpenAPI returns the OpenAPI 3.1 description of the public API, as JSON.
func OpenAPI() []byte { return openAPI }

// RegisterOpenAPI serves the description at OpenAPIPath.
func RegisterOpenAPI(mux jsonhttp.Mux) {
	mux.HandleFunc("GET "+OpenAPIPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openAPI)
	})
}
