package api

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
)

// The handlers and openapi.json agree on paths, methods and problem codes.
// (Every request of every test in this package also checks its answer
// against the document: see conformance.)
func TestOpenAPIAgreesWithHandlers(t *testing.T) {
	doc, err := parseDoc()
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	r := chi.NewRouter()
	(&Handler{}).Routes(r)
	var routes []string
	chi.Walk(r, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routes = append(routes, method+" "+strings.Replace(route, "/*", "/{path}", 1))
		return nil
	})
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	slices.Sort(routes)
	slices.Sort(documented)
	if !slices.Equal(routes, documented) {
		t.Fatalf("routes %v\ndocument %v", routes, documented)
	}

	// The document's code list is the handlers' code list.
	codes := slices.Sorted(maps.Keys(problemTypes))
	enum := slices.Sorted(slices.Values(doc.Components.Schemas.Problem.Properties.Code.Enum))
	if !slices.Equal(codes, enum) {
		t.Fatalf("handlers' codes %v\ndocument's %v", codes, enum)
	}
	// Each operation lists a response for the status of each of its codes,
	// and every error response it lists has a code.
	for path, ops := range doc.Paths {
		for method, op := range ops {
			statuses := map[string]bool{}
			for _, code := range op.ProblemCodes {
				pt, ok := problemTypes[code]
				if !ok {
					t.Errorf("%s %s: unknown code %q", method, path, code)
				}
				status := strconv.Itoa(pt.Status)
				statuses[status] = true
				if _, ok := op.Responses[status]; !ok {
					t.Errorf("%s %s: code %s answers %s, which is not listed", method, path, code, status)
				}
			}
			for status := range op.Responses {
				if status >= "400" && status != "default" && !statuses[status] {
					t.Errorf("%s %s: response %s has no problem code", method, path, status)
				}
			}
		}
	}
	for _, code := range doc.GenericCodes {
		if _, ok := problemTypes[code]; !ok {
			t.Errorf("generic code %q unknown", code)
		}
	}
}
