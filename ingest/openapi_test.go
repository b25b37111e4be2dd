package ingest_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	"github.com/pb33f/libopenapi/datamodel"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"

	"github.com/syncd-dev/syncd/ingest"
)

// docs/openapi.yaml is OpenAPI 3.1 that libopenapi builds without an error
// (every $ref resolves), and it describes exactly the routes the handler
// serves, each with its error answers.
func TestOpenAPIDescribesTheRoutes(t *testing.T) {
	raw, err := os.ReadFile("../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := libopenapi.NewDocument(raw)
	if err != nil {
		t.Fatalf("parse docs/openapi.yaml: %v", err)
	}
	if f := doc.GetSpecInfo().SpecFormat; f != datamodel.OAS31 {
		t.Errorf("docs/openapi.yaml is %s, want OpenAPI 3.1", f)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("build docs/openapi.yaml: %v", err)
	}
	ops := map[string]*v3.Operation{}
	for path, item := range model.Model.Paths.PathItems.FromOldest() {
		for method, op := range item.GetOperations().FromOldest() {
			ops[strings.ToUpper(method)+" "+path] = op
		}
	}
	var want []string
	for _, r := range ingest.Routes {
		route := r.Method + " " + r.Path
		want = append(want, route)
		op, ok := ops[route]
		if !ok {
			t.Errorf("docs/openapi.yaml lacks %s", route)
			continue
		}
		codes := []string{"401", "403", "429", "503"}
		if r.Method == "POST" {
			codes = append(codes, "200", "201", "400", "413", "415", "422")
		} else {
			codes = append(codes, "200", "404")
		}
		for _, c := range codes {
			if _, ok := op.Responses.Codes.Get(c); !ok {
				t.Errorf("docs/openapi.yaml: %s has no %s answer", route, c)
			}
		}
	}
	for route := range ops {
		if !slices.Contains(want, route) {
			t.Errorf("docs/openapi.yaml describes %s, which the handler does not serve", route)
		}
	}
	if s := model.Model.Components.SecuritySchemes; s == nil {
		t.Error("docs/openapi.yaml has no security scheme")
	} else if k, ok := s.Get("apiKey"); !ok || k.Type != "http" || k.Scheme != "bearer" {
		t.Errorf("security scheme apiKey: %+v, want http bearer", k)
	}
}
