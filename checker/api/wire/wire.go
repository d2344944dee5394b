// Package wire holds the JSON answers of the checker's HTTP API that
// more than one side reads: the handlers in checker/api encode them and
// the browser UI (web/...) decodes them, so a field renamed on one side
// is renamed on the other by the compiler, not found by a browser test.
//
// The package is types and json tags only: no behaviour, and no imports
// but the standard library and the domain's value types (clinical/...),
// so that the UI may import it without reaching the handlers or stores.
// access/openapi.json describes the same shapes; its tests
// (access/openapitest) check the answers against it.
package wire
