package status

import (
	"encoding/json"
	"fmt"
	"sync"

	"github.com/invopop/jsonschema"
)

// reportSchemaName names the response schema in requests.
const reportSchemaName = "status_report"

// reportOutput is the JSON object the model must return. Its JSON
// Schema, sent as a strict json_schema response format, requires every
// key and allows no other.
type reportOutput struct {
	Status string `json:"status" jsonschema:"enum=on_track,enum=at_risk,enum=blocked,enum=unknown"`

	Summary    string   `json:"summary"`
	Highlights []string `json:"highlights"`
	Risks      []string `json:"risks"`
	NextSteps  []string `json:"next_steps"`
}

// ReportSchema returns the JSON Schema of the model output as a new JSON
// object, generated from the Go type of that output. Strict structured
// outputs accept a subset of JSON Schema, so the schema has no $schema
// or $id keys, and it leaves the five-item caps to the prompt and to the
// response check, which cuts each list to MaxListItems.
func ReportSchema() map[string]any {
	var out map[string]any
	if err := json.Unmarshal(reportSchemaJSON(), &out); err != nil {
		panic(fmt.Sprintf("decode report schema: %v", err))
	}
	return out
}

// reportSchemaJSON generates the schema once.
var reportSchemaJSON = sync.OnceValue(func() []byte {
	r := &jsonschema.Reflector{DoNotReference: true, ExpandedStruct: true}
	s := r.Reflect(&reportOutput{})
	s.Version = ""
	s.ID = ""

	data, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("encode report schema: %v", err))
	}
	return data
})
