package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/ghillie/ghillie/adapters/httpapi"
	"github.com/ghillie/ghillie/bronze"
	"github.com/ghillie/ghillie/catalogue"
	"github.com/ghillie/ghillie/evidence"
	"github.com/ghillie/ghillie/gold"
	"github.com/ghillie/ghillie/registry"
	"github.com/ghillie/ghillie/reporting"
	"github.com/ghillie/ghillie/silver"
	"github.com/ghillie/ghillie/specs"
	"github.com/ghillie/ghillie/status"
	"github.com/ghillie/ghillie/store"
)

const testToken = "test-token-0123456789"

// asOf is the end of the first reporting window of the fixtures.
var asOf = time.Date(2024, 7, 14, 0, 0, 0, 0, time.UTC)

// newEstate imports the example catalogue as estate wildside, syncs it and
// stores one commit of leynos/wildside the day before asOf. It returns the
// estate's id.
func newEstate(t testing.TB, db *store.DB) string {
	t.Helper()
	ctx := context.Background()

	if _, err := catalogue.NewImporter(db, nil).ImportFile(ctx, catalogue.Estate{Key: "wildside"},
		"../../examples/wildside-catalogue.yaml", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := registry.NewService(db, nil).Sync(ctx, "wildside"); err != nil {
		t.Fatal(err)
	}

	at := asOf.Add(-24 * time.Hour)
	env := bronze.Envelope{SourceSystem: "github", SourceEventID: "c1", EventType: "github.commit",
		RepoExternalID: "leynos/wildside", OccurredAt: at, Payload: map[string]any{
			"sha": "c1", "message": "feat: add walks", "repo_owner": "leynos",
			"repo_name": "wildside", "committed_at": at.Format(time.RFC3339),
			"default_branch": "main"}}
	if _, err := bronze.NewWriter(db).WriteBatch(ctx, []bronze.Envelope{env}); err != nil {
		t.Fatal(err)
	}
	if _, err := silver.NewTransformer(db, nil).ProcessPending(ctx, 0); err != nil {
		t.Fatal(err)
	}

	var id string
	if err := db.Catalogue().Get(&id, `SELECT id FROM estates WHERE key = 'wildside'`); err != nil {
		t.Fatal(err)
	}
	return id
}

// apiClient sends requests to a test server and checks each request and
// response against the OpenAPI document.
type apiClient struct {
	t      *testing.T
	base   string
	router routers.Router
}

// response is a received response with its body read.
type response struct {
	status int
	header http.Header
	body   []byte
}

// decode unmarshals a JSON body into v.
func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want application/json; body %s", ct, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// apiErrorBody is the JSON body of an error response.
type apiErrorBody struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	Field       string `json:"field"`
}

func (r response) apiError(t *testing.T) apiErrorBody {
	t.Helper()
	var e apiErrorBody
	r.decode(t, &e)
	return e
}

var registerDecoders sync.Once

// loadDocument parses and validates the embedded OpenAPI document and
// returns a router over its paths that ignores the servers' hosts.
func loadDocument(t *testing.T) routers.Router {
	t.Helper()

	registerDecoders.Do(func() {
		text := func(body io.Reader, _ http.Header, _ *openapi3.SchemaRef,
			_ openapi3filter.EncodingFn) (any, error) {
			b, err := io.ReadAll(body)
			return string(b), err
		}
		openapi3filter.RegisterBodyDecoder("text/markdown", text)
		openapi3filter.RegisterBodyDecoder("application/yaml", text)
		openapi3filter.RegisterBodyDecoder("application/x-ndjson", text)
	})

	doc, err := openapi3.NewLoader().LoadFromData(specs.OpenAPI)
	if err != nil {
		t.Fatalf("load OpenAPI document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("invalid OpenAPI document: %v", err)
	}
	doc.Servers = nil
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return router
}

// newClient starts a test server with the handler cfg builds.
func newClient(t *testing.T, cfg httpapi.Config) *apiClient {
	t.Helper()

	h, err := httpapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &apiClient{t: t, base: srv.URL, router: loadDocument(t)}
}

// bearerOnly accepts a request whose Authorization header has a bearer
// token, as the document's bearerAuth scheme describes.
func bearerOnly(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	h := in.RequestValidationInput.Request.Header.Get("Authorization")
	if !strings.HasPrefix(h, "Bearer ") {
		return errors.New("no bearer token")
	}
	return nil
}

// do sends a request with the headers, given as name and value pairs. The
// request must match the document unless the response is a 400 or 401,
// which reject requests the document also rejects. The response must
// match the document, with an undocumented status code an error.
func (c *apiClient) do(method, path string, headers ...string) response {
	c.t.Helper()
	return c.send(method, path, nil, headers...)
}

// send is do with a request body, whose Content-Type goes in headers.
func (c *apiClient) send(method, path string, reqBody []byte, headers ...string) response {
	c.t.Helper()
	ctx := context.Background()

	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(reqBody))
	if err != nil {
		c.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	out := response{status: res.StatusCode, header: res.Header, body: body}

	route, params, err := c.router.FindRoute(req)
	if err != nil {
		// Only unknown paths and methods may miss the document.
		if res.StatusCode != http.StatusNotFound && res.StatusCode != http.StatusMethodNotAllowed {
			c.t.Fatalf("%s %s: not in the OpenAPI document but returned %d", method, path,
				res.StatusCode)
		}
		return out
	}

	// The request's body was sent; the validator reads it again.
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true,
		AuthenticationFunc: bearerOnly}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: opts}
	reqErr := openapi3filter.ValidateRequest(ctx, in)
	if reqErr != nil && res.StatusCode != http.StatusBadRequest &&
		res.StatusCode != http.StatusUnauthorized {
		c.t.Fatalf("%s %s: request does not match the OpenAPI document: %v", method, path, reqErr)
	}

	resIn := &openapi3filter.ResponseValidationInput{RequestValidationInput: in,
		Status: res.StatusCode, Header: res.Header, Options: opts}
	resIn.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(ctx, resIn); err != nil {
		c.t.Fatalf("%s %s: %d response does not match the OpenAPI document: %v\nbody: %s",
			method, path, res.StatusCode, err, bytes.TrimSpace(body))
	}
	return out
}

// post sends a POST with the test token.
func (c *apiClient) post(path string) response {
	c.t.Helper()
	return c.do(http.MethodPost, path, "Authorization", "Bearer "+testToken)
}

// emptySummaries is a status model whose repository summaries are empty,
// so they always fail validation.
type emptySummaries struct{ status.Model }

func (emptySummaries) SummarizeRepository(context.Context, *evidence.RepositoryBundle) (
	status.Result, error) {
	return status.Result{Status: gold.StatusOnTrack, Highlights: []string{}, Risks: []string{},
		NextSteps: []string{}, Metrics: status.Metrics{Provider: "test", Model: "empty"}}, nil
}

// blockingModel waits until the call's context ends. It sends on called,
// when not nil, as each call begins.
type blockingModel struct {
	status.Model
	called chan struct{}
}

func (m blockingModel) SummarizeRepository(ctx context.Context, _ *evidence.RepositoryBundle) (
	status.Result, error) {
	if m.called != nil {
		m.called <- struct{}{}
	}
	<-ctx.Done()
	return status.Result{}, ctx.Err()
}

// panickingModel panics on every repository summary.
type panickingModel struct{ status.Model }

func (panickingModel) SummarizeRepository(context.Context, *evidence.RepositoryBundle) (
	status.Result, error) {
	panic("model bug")
}

// runEstate writes every report of the estate as of asOf.
func runEstate(t *testing.T, db *store.DB, estateID string) {
	t.Helper()

	svc, err := reporting.NewService(db, status.NewMock(), reporting.DefaultConfig)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RunEstateAll(context.Background(), estateID,
		reporting.RunOptions{AsOf: asOf}); err != nil {
		t.Fatal(err)
	}
}
