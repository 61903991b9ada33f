package silver

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// PayloadError reports a payload key whose value does not match the
// schema of the event type.
type PayloadError struct {
	// Field is the payload key, such as "created_at".
	Field string

	// Problem completes the sentence that starts with Field, such as
	// "must include timezone information".
	Problem string
}

// Error returns the field and the problem as one sentence.
func (e *PayloadError) Error() string { return e.Field + " " + e.Problem }

// fieldReader reads typed values from a decoded payload and keeps the
// first problem, so a decoder can read every field and check once.
type fieldReader struct {
	payload map[string]any
	err     error
}

func (r *fieldReader) fail(field, format string, args ...any) {
	if r.err == nil {
		r.err = &PayloadError{Field: field, Problem: fmt.Sprintf(format, args...)}
	}
}

// lookup returns the value of a key and whether it is present and not
// null. A required key that is absent or null is a problem.
func (r *fieldReader) lookup(field string, required bool) (any, bool) {
	value, present := r.payload[field]
	switch {
	case !present && required:
		r.fail(field, "is required")
		return nil, false
	case value == nil && required:
		r.fail(field, "must not be null")
		return nil, false
	}
	return value, present && value != nil
}

// stringValue checks that value is a string of at most maxLen characters
// (no limit when maxLen is 0), not empty when nonEmpty is set.
func (r *fieldReader) stringValue(field string, value any, maxLen int, nonEmpty bool) (string, bool) {
	s, ok := value.(string)
	if !ok {
		r.fail(field, "must be a string, got %s", jsonKind(value))
		return "", false
	}
	if nonEmpty && s == "" {
		r.fail(field, "must not be empty")
		return "", false
	}
	if n := utf8.RuneCountInString(s); maxLen > 0 && n > maxLen {
		r.fail(field, "is %d characters long: the maximum is %d", n, maxLen)
		return "", false
	}
	return s, true
}

func (r *fieldReader) requiredString(field string, maxLen int, nonEmpty bool) string {
	value, ok := r.lookup(field, true)
	if !ok {
		return ""
	}
	s, _ := r.stringValue(field, value, maxLen, nonEmpty)
	return s
}

// ValidOwner reports whether s is in GitHub's form of owners: 1 to 39
// letters, digits, hyphens or underscores (enterprise managed users), not
// starting with a hyphen. The commands and routes check owners with it,
// and Silver fails events of other owners so that every stored repository
// can be managed. It runs for every event, so it uses no regexp.
func ValidOwner(s string) bool {
	if len(s) < 1 || len(s) > 39 || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) || s[i] == '.' {
			return false
		}
	}
	return true
}

// ValidRepositoryName reports whether s is in GitHub's form of
// repository names: 1 to 100 letters, digits, '.', '-' or '_', other than
// "." and "..".
func ValidRepositoryName(s string) bool {
	if len(s) < 1 || len(s) > 100 || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) {
			return false
		}
	}
	return true
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '_' || c == '.'
}

// repoOwner reads the required repo_owner, in GitHub's form of owners.
func (r *fieldReader) repoOwner() string {
	owner := r.requiredString("repo_owner", maxGitHubName, true)
	if owner != "" && !ValidOwner(owner) {
		r.fail("repo_owner", "is %q: use 1 to 39 letters, digits, hyphens or underscores, "+
			"not starting with a hyphen", owner)
	}
	return owner
}

// repoName reads the required repo_name, in GitHub's form of repository
// names.
func (r *fieldReader) repoName() string {
	name := r.requiredString("repo_name", maxGitHubName, true)
	if name != "" && !ValidRepositoryName(name) {
		r.fail("repo_name", "is %q: use 1 to 100 letters, digits, '.', '-' or '_', "+
			"other than '.' and '..'", name)
	}
	return name
}

func (r *fieldReader) optionalString(field string, maxLen int) *string {
	value, ok := r.lookup(field, false)
	if !ok {
		return nil
	}
	s, ok := r.stringValue(field, value, maxLen, false)
	if !ok {
		return nil
	}
	return &s
}

// integer reads a JSON integer between lowest and highest. Numbers with a
// fraction or an exponent are rejected even when their value is whole, as
// a strict decoder would.
func (r *fieldReader) integer(field string, lowest, highest int64) int64 {
	value, ok := r.lookup(field, true)
	if !ok {
		return 0
	}

	var n int64
	switch v := value.(type) {
	case json.Number:
		parsed, err := strconv.ParseInt(string(v), 10, 64)
		if errors.Is(err, strconv.ErrRange) {
			r.fail(field, "is %s: it must be between %d and %d", v, lowest, highest)
			return 0
		}
		if err != nil {
			r.fail(field, "must be an integer, got %s", v)
			return 0
		}
		n = parsed
	case int64:
		n = v
	case int:
		n = int64(v)
	default:
		r.fail(field, "must be an integer, got %s", jsonKind(value))
		return 0
	}

	if n < lowest || n > highest {
		r.fail(field, "is %d: it must be between %d and %d", n, lowest, highest)
		return 0
	}
	return n
}

// maxID is the largest pull request or issue id: 18 digits. The entity
// key that reports join event facts on holds 1 to 18 digits on both
// databases (see migration 00010), so a longer id would be stored but
// never reported. GitHub's database ids have about 10 digits.
const maxID = 999_999_999_999_999_999

// requiredID reads a GitHub database id, a positive integer of at most
// 18 digits.
func (r *fieldReader) requiredID(field string) int64 {
	return r.integer(field, 1, maxID)
}

// requiredNumber reads a pull request or issue number, which GitHub
// counts from 1 and the number column stores as a 32-bit integer.
func (r *fieldReader) requiredNumber(field string) int64 {
	return r.integer(field, 1, maxPostgresInt)
}

// optionalBool reads a boolean that defaults to false when the key is
// absent. Null is a problem, because the column cannot store it.
func (r *fieldReader) optionalBool(field string) bool {
	value, present := r.payload[field]
	if !present {
		return false
	}
	b, ok := value.(bool)
	if !ok {
		r.fail(field, "must be a boolean, got %s", jsonKind(value))
	}
	return b
}

func (r *fieldReader) requiredTime(field string) time.Time {
	value, ok := r.lookup(field, true)
	if !ok {
		return time.Time{}
	}
	s, ok := r.stringValue(field, value, 0, false)
	if !ok {
		return time.Time{}
	}
	t, err := parseTimestamp(field, s)
	if err != nil {
		r.fail(field, "%s", err.(*PayloadError).Problem)
	}
	return t
}

func (r *fieldReader) optionalTime(field string) *time.Time {
	value, ok := r.lookup(field, false)
	if !ok {
		return nil
	}
	s, ok := r.stringValue(field, value, 0, false)
	if !ok {
		return nil
	}
	t, err := parseTimestamp(field, s)
	if err != nil {
		r.fail(field, "%s", err.(*PayloadError).Problem)
		return nil
	}
	return &t
}

// labels reads an array of strings, keeping order and duplicates. It
// returns nil for an absent or null key and an empty slice for [].
func (r *fieldReader) labels(field string) []string {
	value, ok := r.lookup(field, false)
	if !ok {
		return nil
	}
	if raw, isRaw := value.(rawJSON); isRaw && len(raw) > 0 && raw[0] == '[' {
		items, err := decodeArray(raw)
		if err != nil {
			r.fail(field, "must be an array of strings: %v", err)
			return nil
		}
		value = items
	}
	items, ok := value.([]any)
	if !ok {
		r.fail(field, "must be an array of strings, got %s", jsonKind(value))
		return nil
	}
	out := make([]string, 0, len(items))
	for i, item := range items {
		s, ok := item.(string)
		if !ok {
			r.fail(field, "must be an array of strings, got %s at index %d", jsonKind(item), i)
			return nil
		}
		out = append(out, s)
	}
	return out
}

func decodeArray(raw rawJSON) ([]any, error) {
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	var items []any
	err := dec.Decode(&items)
	return items, err
}

// object reads a JSON object as JSON text, or nil for an absent or null
// key.
func (r *fieldReader) object(field string) json.RawMessage {
	value, ok := r.lookup(field, false)
	if !ok {
		return nil
	}
	switch v := value.(type) {
	case rawJSON:
		if len(v) > 0 && v[0] == '{' {
			return json.RawMessage(v)
		}
	case map[string]any:
		text, err := jsonText(v)
		if err != nil {
			r.fail(field, "cannot be encoded as JSON: %v", err)
			return nil
		}
		return json.RawMessage(text)
	}
	r.fail(field, "must be an object, got %s", jsonKind(value))
	return nil
}

// jsonKind names the JSON type of a decoded value for messages.
func jsonKind(value any) string {
	switch v := value.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, float64, float32, int, int64:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	case rawJSON:
		if strings.HasPrefix(string(v), "[") {
			return "an array"
		}
		return "an object"
	}
	return fmt.Sprintf("%T", value)
}
