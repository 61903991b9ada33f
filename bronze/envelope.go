package bronze

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Envelope is one raw event to store.
type Envelope struct {
	// SourceSystem names the system the event came from, such as "github".
	SourceSystem string `json:"source_system"`

	// SourceEventID is the source's id for the event, if it has one.
	SourceEventID string `json:"source_event_id,omitempty"`

	// EventType names the kind of event, such as "github.pull_request".
	EventType string `json:"event_type"`

	// RepoExternalID is the repository the event belongs to, as
	// "owner/name" for GitHub, if any.
	RepoExternalID string `json:"repo_external_id,omitempty"`

	// OccurredAt is when the event happened. It must not be zero; it is
	// stored in UTC to the microsecond.
	OccurredAt time.Time `json:"occurred_at"`

	// Payload is the event's data. It is copied and normalized before it
	// is stored (see Normalize).
	Payload map[string]any `json:"payload"`
}

// Field limits of the raw_events columns.
const (
	maxSourceSystem = 32
	maxEventType    = 64
	maxExternalID   = 255
)

// validate checks the envelope's fields, not its payload.
func (e Envelope) validate() error {
	var problems []string
	check := func(field, value string, required bool, limit int) {
		switch {
		case required && strings.TrimSpace(value) == "":
			problems = append(problems, field+" is missing")
		case len([]rune(value)) > limit:
			problems = append(problems, fmt.Sprintf("%s is %d characters long: the maximum is %d",
				field, len([]rune(value)), limit))
		}
	}
	check("source_system", e.SourceSystem, true, maxSourceSystem)
	check("event_type", e.EventType, true, maxEventType)
	check("source_event_id", e.SourceEventID, false, maxExternalID)
	check("repo_external_id", e.RepoExternalID, false, maxExternalID)

	// The dedupe key joins these fields with "|" as the Python Ghillie
	// does, so a "|" inside one would let two different events share a
	// key and the second would be dropped as a duplicate.
	for _, field := range []struct{ name, value string }{
		{"source_system", e.SourceSystem}, {"event_type", e.EventType},
		{"source_event_id", e.SourceEventID}, {"repo_external_id", e.RepoExternalID},
	} {
		if strings.Contains(field.value, "|") {
			problems = append(problems, fmt.Sprintf("%s %q contains \"|\", which separates the "+
				"fields of the dedupe key: remove it", field.name, field.value))
		}
	}

	// Times are stored to the microsecond, so a time that rounds down to
	// the zero time is as missing as the zero time itself.
	occurred := e.OccurredAt.UTC().Truncate(time.Microsecond)
	switch {
	case occurred.IsZero():
		problems = append(problems, "occurred_at is missing or zero: the first microsecond of "+
			"0001-01-01 UTC is Go's zero time, which Ghillie takes for a missing time")
	case occurred.Year() < 1 || occurred.Year() > 9999:
		problems = append(problems, fmt.Sprintf("occurred_at %s is outside the years 1 to 9999 in UTC",
			e.OccurredAt.Format(time.RFC3339Nano)))
	}
	if e.Payload == nil {
		problems = append(problems, "payload is missing: use an empty object for none")
	}

	if len(problems) > 0 {
		return &EnvelopeError{Problems: problems}
	}
	return nil
}

// EnvelopeError reports the envelope fields that are missing or invalid.
type EnvelopeError struct {
	Problems []string
}

func (e *EnvelopeError) Error() string {
	return "invalid envelope: " + strings.Join(e.Problems, "; ")
}

// ParseEnvelope decodes one envelope from JSON, as written by
// `ghillie events import` input: an object with source_system,
// event_type, occurred_at (RFC 3339 with an offset), payload and the
// optional source_event_id and repo_external_id. Numbers in the payload
// keep their exact text, so large ids survive. Unknown fields are errors.
func ParseEnvelope(data []byte) (Envelope, error) {
	var raw struct {
		SourceSystem   string          `json:"source_system"`
		SourceEventID  *string         `json:"source_event_id"`
		EventType      string          `json:"event_type"`
		RepoExternalID *string         `json:"repo_external_id"`
		OccurredAt     *string         `json:"occurred_at"`
		Payload        json.RawMessage `json:"payload"`
	}
	// JSON text is UTF-8. encoding/json would replace invalid bytes with
	// U+FFFD, and two events that differ only in them would then share a
	// dedupe key, so the second would be dropped as a duplicate.
	if !utf8.Valid(data) {
		return Envelope{}, fmt.Errorf("invalid envelope JSON: the byte at offset %d is not valid "+
			"UTF-8: write the line in UTF-8", invalidUTF8Offset(data))
	}
	if offset := loneSurrogate(data); offset >= 0 {
		return Envelope{}, fmt.Errorf("invalid envelope JSON: the escape at offset %d is half of "+
			"a UTF-16 surrogate pair, which encoding/json would read as U+FFFD: escape the "+
			"whole character", offset)
	}
	if kind := jsonKind(data); kind != "object" && kind != "" {
		return Envelope{}, fmt.Errorf("invalid envelope JSON: the line is a JSON %s: "+
			"give one envelope object per line", kind)
	}
	if key := repeatedKey(data); key != "" {
		return Envelope{}, fmt.Errorf("invalid envelope JSON: the field %q appears more than "+
			"once, and encoding/json would keep only the last: give each field once", key)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return Envelope{}, fmt.Errorf("invalid envelope JSON: %s is a JSON %s: give a %s",
				typeErr.Field, typeErr.Value, fieldKind(typeErr.Field))
		}
		return Envelope{}, fmt.Errorf("invalid envelope JSON: %w", err)
	}
	if dec.More() {
		return Envelope{}, errors.New("invalid envelope JSON: more than one value on the line")
	}

	e := Envelope{SourceSystem: raw.SourceSystem, EventType: raw.EventType}
	if raw.SourceEventID != nil {
		e.SourceEventID = *raw.SourceEventID
	}
	if raw.RepoExternalID != nil {
		e.RepoExternalID = *raw.RepoExternalID
	}

	if raw.OccurredAt == nil {
		return Envelope{}, errors.New("invalid envelope: occurred_at is missing")
	}
	// RFC 3339 allows a lower-case "t" and "z", which time.Parse does
	// not; nothing else in a valid time has letters.
	occurred, err := time.Parse(time.RFC3339Nano, strings.ToUpper(*raw.OccurredAt))
	if err == nil && !strictRFC3339(*raw.OccurredAt) {
		err = errors.New("not RFC 3339")
	}
	if err != nil {
		return Envelope{}, fmt.Errorf("invalid envelope: occurred_at %q is not an RFC 3339 time "+
			"with an offset, such as 2024-07-02T09:30:00Z", *raw.OccurredAt)
	}
	e.OccurredAt = occurred

	if len(raw.Payload) == 0 || string(raw.Payload) == "null" {
		return Envelope{}, errors.New("invalid envelope: payload is missing: use {} for none")
	}
	payloadDec := json.NewDecoder(bytes.NewReader(raw.Payload))
	payloadDec.UseNumber()
	if err := payloadDec.Decode(&e.Payload); err != nil {
		return Envelope{}, fmt.Errorf("invalid envelope: payload must be a JSON object: %w", err)
	}
	return e, e.validate()
}

// invalidUTF8Offset returns the offset of the first byte of data that
// does not start a valid UTF-8 sequence.
func invalidUTF8Offset(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(data)
}

// loneSurrogate returns the offset of the first \u escape in data that is
// a UTF-16 surrogate without its other half, or -1 when there is none.
// Like invalid bytes, such escapes decode to U+FFFD, so two strings that
// differ only in them would be stored as one value.
func loneSurrogate(data []byte) int {
	for i := 0; i < len(data)-1; i++ {
		if data[i] != '\\' {
			continue
		}
		if data[i+1] != 'u' {
			i++ // an escaped character, such as \\ before a "u"
			continue
		}
		r, ok := hexRune(data, i+2)
		switch {
		case !ok || r < 0xd800 || r > 0xdfff:
		case r >= 0xdc00:
			return i // a low half without a high half before it
		default:
			low, ok := hexRune(data, i+8)
			if i+7 >= len(data) || data[i+6] != '\\' || data[i+7] != 'u' || !ok ||
				low < 0xdc00 || low > 0xdfff {
				return i
			}
			i += 6 // the low half, which the pair used
		}
		i += 5
	}
	return -1
}

// repeatedKey returns the first key that the envelope object in data has
// twice, or "" when it has none. Only the envelope's own keys count:
// the payload is JSON that Bronze stores as decoded. It scans the bytes,
// so a line that is not valid JSON returns "" and fails to decode later.
func repeatedKey(data []byte) string {
	seen := make(map[string]bool, 8)
	depth := 0
	expectKey := false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; c {
		case '{':
			depth++
			expectKey = depth == 1
		case '[':
			depth++
		case '}', ']':
			depth--
		case ',':
			expectKey = depth == 1
		case '"':
			end := i + 1
			for end < len(data) && data[end] != '"' {
				if data[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(data) {
				return ""
			}
			if expectKey {
				var key string
				if err := json.Unmarshal(data[i:end+1], &key); err != nil {
					return ""
				}
				if seen[key] {
					return key
				}
				seen[key] = true
				expectKey = false
			}
			i = end
		}
	}
	return ""
}

// hexRune reads the four hex digits of a \u escape at data[at:].
func hexRune(data []byte, at int) (rune, bool) {
	if at+4 > len(data) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(data[at:at+4]), 16, 16)
	return rune(n), err == nil
}

// jsonKind names the kind of JSON value that data starts with, or ""
// when it starts with none, for the decoder to report.
func jsonKind(data []byte) string {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return ""
	}
	switch c := trimmed[0]; {
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == '"':
		return "string"
	case c == 't' || c == 'f':
		return "boolean"
	case c == 'n':
		return "null"
	case c == '-' || (c >= '0' && c <= '9'):
		return "number"
	}
	return ""
}

// fieldKind names the JSON kind that an envelope field takes.
func fieldKind(field string) string {
	switch field {
	case "payload":
		return "object"
	case "occurred_at":
		return "string with an RFC 3339 time"
	}
	return "string"
}

// strictRFC3339 rejects what time.Parse accepts beyond RFC 3339: a comma
// before the fraction of a second, and an offset of 24 hours or more or
// of 60 minutes or more, which time.Parse applies as given.
func strictRFC3339(s string) bool {
	if strings.ContainsRune(s, ',') {
		return false
	}
	n := len(s)
	if n < 6 || (s[n-6] != '+' && s[n-6] != '-') {
		return true
	}
	return s[n-5:n-3] < "24" && s[n-2:] < "60"
}

// State is the Silver transform state of a raw event.
type State int

// Transform states, as stored in raw_events.transform_state.
const (
	Pending   State = 0
	Processed State = 1
	Failed    State = 2
)

// String returns the state's name.
func (s State) String() string {
	switch s {
	case Pending:
		return "pending"
	case Processed:
		return "processed"
	case Failed:
		return "failed"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// RawEvent is a stored raw event.
type RawEvent struct {
	ID             int64
	SourceSystem   string
	SourceEventID  string
	EventType      string
	RepoExternalID string
	OccurredAt     time.Time
	IngestedAt     time.Time
	DedupeKey      string

	// Payload is the normalized payload. Numbers are json.Number.
	Payload map[string]any

	TransformState State
	TransformError string
}
