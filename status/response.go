package status

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/ghillie/ghillie/gold"
)

// previewRunes is the length of the text quoted in a ResponseError.
const previewRunes = 100

// tokenUsage is the usage object of a response. A count is nil when it
// is missing or not a JSON integer.
type tokenUsage struct {
	prompt, completion, total *int64
}

// decodeJSON decodes exactly one JSON value, numbers as json.Number.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

// preview returns the cleaned start of text for an error message.
func preview(text string) string {
	return clean(text, previewRunes)
}

// parseCompletion checks a chat completions response body and returns
// the report in the first choice's message. It reads the token usage
// before checking the rest, so usage is returned with most errors.
func parseCompletion(body []byte) (Result, tokenUsage, error) {
	doc, err := decodeJSON(body)
	if err != nil {
		return Result{}, tokenUsage{}, &ResponseError{
			Problem: "body is not valid JSON (parse failed)", Preview: preview(string(body)),
			Err: err}
	}
	obj, _ := doc.(map[string]any)
	usage := readUsage(obj)

	missing := func(field string) error {
		return &ResponseError{Problem: "missing expected field: " + field}
	}
	choices, _ := obj["choices"].([]any)
	if len(choices) == 0 {
		return Result{}, usage, missing("choices")
	}
	choice, ok := choices[0].(map[string]any)
	if !ok {
		return Result{}, usage, missing("choices[0]")
	}

	switch reason, _ := choice["finish_reason"].(string); reason {
	case "length":
		return Result{}, usage, &ResponseError{Problem: "model output was truncated at the " +
			"token limit (finish_reason length): raise " + EnvOpenAIMaxTokens}
	case "content_filter":
		return Result{}, usage, &ResponseError{Problem: "model output was withheld by the " +
			"provider's content filter (finish_reason content_filter)"}
	}

	message, ok := choice["message"].(map[string]any)
	if !ok {
		return Result{}, usage, missing("choices[0].message")
	}
	content, ok := message["content"].(string)
	if !ok {
		if refusal, ok := message["refusal"].(string); ok && refusal != "" {
			return Result{}, usage, &ResponseError{
				Problem: "model refused to answer (choices[0].message.refusal)",
				Preview: preview(refusal)}
		}
		return Result{}, usage, missing("choices[0].message.content")
	}

	result, err := parseReport(content)
	return result, usage, err
}

// readUsage reads the token counts of a response object, accepting
// JSON integers only: 50.0, "50" and true give nil.
func readUsage(obj map[string]any) tokenUsage {
	usage, _ := obj["usage"].(map[string]any)
	count := func(key string) *int64 {
		n, ok := usage[key].(json.Number)
		if !ok || strings.ContainsAny(n.String(), ".eE") {
			return nil
		}
		v, err := n.Int64()
		if err != nil {
			return nil
		}
		return &v
	}
	return tokenUsage{
		prompt:     count("prompt_tokens"),
		completion: count("completion_tokens"),
		total:      count("total_tokens"),
	}
}

// parseReport validates the model output: a JSON object whose status and
// summary are strings and whose highlights, risks and next_steps, when
// present, are arrays of strings. Keys match exactly, unknown keys are
// ignored, null is rejected, the status is read with
// gold.NormalizeStatus and each list is cut to MaxListItems.
func parseReport(content string) (Result, error) {
	fail := func(problem string, err error) (Result, error) {
		return Result{}, &ResponseError{Problem: "model output " + problem,
			Preview: preview(content), Err: err}
	}

	doc, err := decodeJSON([]byte(content))
	if err != nil {
		return fail("is not valid JSON (parse failed)", err)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return fail("is not a JSON object", nil)
	}

	var r Result
	status, ok := obj["status"].(string)
	if !ok {
		return fail(fieldProblem(obj, "status", "a string"), nil)
	}
	r.Status = gold.NormalizeStatus(status)
	if r.Summary, ok = obj["summary"].(string); !ok {
		return fail(fieldProblem(obj, "summary", "a string"), nil)
	}

	lists := []struct {
		key string
		dst *[]string
	}{{"highlights", &r.Highlights}, {"risks", &r.Risks}, {"next_steps", &r.NextSteps}}
	for _, l := range lists {
		*l.dst = []string{}
		v, present := obj[l.key]
		if !present {
			continue
		}
		items, ok := v.([]any)
		if !ok {
			return fail(fieldProblem(obj, l.key, "an array of strings"), nil)
		}
		for i, item := range items {
			text, ok := item.(string)
			if !ok {
				return fail(fieldProblem(obj, l.key, "an array of strings")+
					": item "+strconv.Itoa(i)+" is "+jsonType(item), nil)
			}
			*l.dst = append(*l.dst, text)
		}
		*l.dst = capList(*l.dst)
	}
	return r, nil
}

// fieldProblem describes a key that is missing or has the wrong JSON type.
func fieldProblem(obj map[string]any, key, want string) string {
	v, present := obj[key]
	if !present {
		return "is missing required field " + key
	}
	return "field " + key + " is " + jsonType(v) + ", want " + want
}

// jsonType names the JSON type of a decoded value.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	}
	return "an object"
}
