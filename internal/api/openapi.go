package api

import (
	_ "embed"
	"net/http"
)

// openAPI is the API's contract, kept in the repository beside the code;
// TestOpenAPIAgreesWithHandlers holds the two together.
//
//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the document served at /api/v1/openapi.json.
func OpenAPI() []byte { return openAPI }

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(openAPI)
}
