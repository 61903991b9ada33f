package bronze_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/bronze"
)

// pythonVectors were computed with Python's json.dumps(sort_keys=True,
// separators=(",", ":")) and hashlib, following the same recipe, so Go
// and Python writers produce the same keys for the same events.
var pythonVectors = []struct {
	name     string
	envelope bronze.Envelope
	canon    string
	key      string
}{
	{
		name: "simple",
		envelope: bronze.Envelope{
			SourceSystem: "github", EventType: "github.push", SourceEventID: "evt-1",
			RepoExternalID: "acme/api", OccurredAt: time.Date(2024, 6, 1, 8, 30, 0, 0, time.UTC),
			Payload: map[string]any{"ref": "refs/heads/main", "after": "abc123"},
		},
		canon: `{"after":"abc123","ref":"refs/heads/main"}`,
		key:   "9652006f95f2f91b7bbdd2391669e8fd4fe7bec9c115e6b982e7ceeed6e11c58",
	},
	{
		name: "unicode and floats",
		envelope: bronze.Envelope{
			SourceSystem: "github", EventType: "github.issue", SourceEventID: "5",
			OccurredAt: time.Date(2024, 6, 1, 8, 30, 0, 123456000, time.UTC),
			Payload: map[string]any{
				"title": "Ünïcödé 😀 </script> & \"q\"\n\t\x7f",
				"n":     []any{1, 2.5, 1.0, 1e-05, 1e16, 123456789.125, math.Copysign(0, -1), 0.0001, 1e22},
			},
		},
		canon: `{"n":[1,2.5,1.0,1e-05,1e+16,123456789.125,-0.0,0.0001,1e+22],` +
			`"title":"\u00dcn\u00efc\u00f6d\u00e9 \ud83d\ude00 </script> & \"q\"\n\t\u007f"}`,
		key: "603ff7ec95152196ed6b6c3b7b375e4252e976062845cd4e927024a32918f65b",
	},
	{
		name: "nested with offset",
		envelope: bronze.Envelope{
			SourceSystem: "github", EventType: "github.pull_request", SourceEventID: "42",
			RepoExternalID: "octo/reef",
			OccurredAt:     time.Date(2024, 7, 2, 10, 30, 0, 0, time.FixedZone("+01", 3600)),
			Payload: map[string]any{
				"b":  map[string]any{"z": nil, "a": []any{true, false, map[string]any{"k": "v"}}},
				"a":  uint64(18446744073709551615),
				"id": -7,
			},
		},
		canon: `{"a":18446744073709551615,"b":{"a":[true,false,{"k":"v"}],"z":null},"id":-7}`,
		key:   "709de132c2ad1947db888b710e3abb87f09fabdc66073dcc30ed92b799242aab",
	},
}

func TestDedupeKeyMatchesPython(t *testing.T) {
	for _, tt := range pythonVectors {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)

			normalized, err := bronze.Normalize(tt.envelope.Payload)
			is.NoErr(err)
			canon, err := bronze.CanonicalJSON(normalized)
			is.NoErr(err)
			is.Equal(string(canon), tt.canon)

			key, err := bronze.DedupeKey(tt.envelope)
			is.NoErr(err)
			is.Equal(key, tt.key)
		})
	}
}

func baseEnvelope() bronze.Envelope {
	return bronze.Envelope{
		SourceSystem: "github", EventType: "github.commit", SourceEventID: "abc",
		RepoExternalID: "octo/reef", OccurredAt: time.Date(2024, 7, 2, 9, 30, 0, 0, time.UTC),
		Payload: map[string]any{"a": 1, "b": 2},
	}
}

func mustKey(t *testing.T, e bronze.Envelope) string {
	t.Helper()

	key, err := bronze.DedupeKey(e)
	if err != nil {
		t.Fatalf("dedupe key: %v", err)
	}
	return key
}

func TestDedupeKeyProperties(t *testing.T) {
	base := mustKey(t, baseEnvelope())

	tests := []struct {
		name string
		edit func(e *bronze.Envelope)
		same bool
	}{
		{"other repository", func(e *bronze.Envelope) { e.RepoExternalID = "octo/other" }, false},
		{"other payload", func(e *bronze.Envelope) { e.Payload = map[string]any{"a": 2, "b": 2} }, false},
		{"other event id", func(e *bronze.Envelope) { e.SourceEventID = "abd" }, false},
		{"same instant offset", func(e *bronze.Envelope) {
			e.OccurredAt = e.OccurredAt.In(time.FixedZone("+01", 3600))
		}, true},
		{"key order", func(e *bronze.Envelope) { e.Payload = map[string]any{"b": 2, "a": 1} }, true},
		{"integer types", func(e *bronze.Envelope) { e.Payload = map[string]any{"a": int8(1), "b": uint(2)} }, true},
		{"json numbers", func(e *bronze.Envelope) {
			e.Payload = map[string]any{"a": json.Number("1"), "b": json.Number("2")}
		}, true},
		{"float is not int", func(e *bronze.Envelope) { e.Payload = map[string]any{"a": 1.0, "b": 2} }, false},
		{"sub-microsecond", func(e *bronze.Envelope) { e.OccurredAt = e.OccurredAt.Add(999) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			e := baseEnvelope()
			tt.edit(&e)
			is.Equal(mustKey(t, e) == base, tt.same)
		})
	}
}

func TestDedupeKeyTimeInPayload(t *testing.T) {
	is := is.New(t)
	at := time.Date(2024, 6, 1, 8, 30, 0, 0, time.UTC)

	e := baseEnvelope()
	e.Payload = map[string]any{"at": at}
	first := mustKey(t, e)
	e.Payload = map[string]any{"at": at.In(time.FixedZone("-05", -5*3600))}
	is.Equal(mustKey(t, e), first) // same instant, same key
	e.Payload = map[string]any{"at": "2024-06-01T08:30:00+00:00"}
	is.Equal(mustKey(t, e), first) // stored form of the time hashes the same
}

func TestNormalizeRejects(t *testing.T) {
	tests := []struct {
		name    string
		payload map[string]any
		path    string
	}{
		{"nan", map[string]any{"x": math.NaN()}, "payload.x"},
		{"infinity", map[string]any{"list": []any{1, math.Inf(1)}}, "payload.list[1]"},
		{"channel", map[string]any{"c": make(chan int)}, "payload.c"},
		{"function", map[string]any{"deep": map[string]any{"f": func() {}}}, "payload.deep.f"},
		{"complex", map[string]any{"z": complex(1, 2)}, "payload.z"},
		{"struct", map[string]any{"s": struct{ A int }{1}}, "payload.s"},
		{"int keys", map[string]any{"m": map[int]string{1: "a"}}, "payload.m"},
		{"zero time", map[string]any{"t": time.Time{}}, "payload.t"},
		{"huge number", map[string]any{"n": json.Number("1e999")}, "payload.n"},
		{"nan number", map[string]any{"n": json.Number("NaN")}, "payload.n"},
		{"underscore number", map[string]any{"n": []any{json.Number("1_000")}}, "payload.n[0]"},
		{"hex number", map[string]any{"n": json.Number("0x1p4")}, "payload.n"},
		{"bad raw message", map[string]any{"r": json.RawMessage(`{"x":`)}, "payload.r"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			_, err := bronze.Normalize(tt.payload)
			var payloadErr *bronze.PayloadError
			is.True(errors.As(err, &payloadErr))
			is.Equal(payloadErr.Path, tt.path)
			is.True(strings.Contains(err.Error(), tt.path))
		})
	}
}

func TestNormalizeRawAndBytes(t *testing.T) {
	is := is.New(t)

	got, err := bronze.Normalize(map[string]any{
		"raw":   json.RawMessage(`{"x":1,"y":[true,1.5]}`),
		"bytes": []byte("hi"),
	})
	is.NoErr(err)
	is.Equal(got["raw"], map[string]any{"x": json.Number("1"), "y": []any{true, 1.5}}) // embedded JSON
	is.Equal(got["bytes"], "aGk=")                                                     // base64, as encoding/json
}

func TestNormalizeCopies(t *testing.T) {
	is := is.New(t)
	at := time.Date(2024, 6, 1, 8, 30, 0, 0, time.FixedZone("+02", 7200))
	inner := []any{"x", at}
	payload := map[string]any{"list": inner, "ptr": &[]string{"p"}, "nul": "a\x00b", "bad": "\xff"}

	got, err := bronze.Normalize(payload)
	is.NoErr(err)
	is.Equal(got["list"], []any{"x", "2024-06-01T06:30:00+00:00"}) // time as UTC text
	is.Equal(got["ptr"], []any{"p"})
	is.Equal(got["nul"], "a\uFFFDb") // NUL replaced
	is.Equal(got["bad"], "\uFFFD")   // invalid UTF-8 replaced

	inner[0] = "changed"
	is.Equal(got["list"].([]any)[0], "x")    // no aliasing
	is.Equal(payload["list"].([]any)[1], at) // input untouched
}

func TestEnvelopeValidation(t *testing.T) {
	tests := []struct {
		name string
		edit func(e *bronze.Envelope)
		want string
	}{
		{"zero occurred_at", func(e *bronze.Envelope) { e.OccurredAt = time.Time{} }, "occurred_at is missing or zero"},
		{"no source", func(e *bronze.Envelope) { e.SourceSystem = " " }, "source_system is missing"},
		{"no type", func(e *bronze.Envelope) { e.EventType = "" }, "event_type is missing"},
		{"nil payload", func(e *bronze.Envelope) { e.Payload = nil }, "payload is missing"},
		{"long type", func(e *bronze.Envelope) { e.EventType = strings.Repeat("x", 65) }, "the maximum is 64"},
		{"year 10000", func(e *bronze.Envelope) {
			e.OccurredAt = time.Date(9999, 12, 31, 23, 0, 0, 0, time.FixedZone("-05", -5*3600))
		}, "outside the years 1 to 9999 in UTC"},
		{"rounds to zero", func(e *bronze.Envelope) {
			e.OccurredAt = time.Date(1, 1, 1, 0, 0, 0, 100, time.UTC)
		}, "occurred_at is missing or zero"},
		{"separator in id", func(e *bronze.Envelope) { e.SourceEventID = "e1|o" }, `contains "|"`},
		{"separator in repository", func(e *bronze.Envelope) { e.RepoExternalID = "o|r" }, `contains "|"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			e := baseEnvelope()
			tt.edit(&e)
			_, err := bronze.DedupeKey(e)
			var envErr *bronze.EnvelopeError
			is.True(errors.As(err, &envErr))
			is.True(strings.Contains(err.Error(), tt.want))
		})
	}
}

func TestParseEnvelope(t *testing.T) {
	is := is.New(t)

	e, err := bronze.ParseEnvelope([]byte(`{"source_system":"github","event_type":"github.issue",` +
		`"source_event_id":"9","repo_external_id":"octo/reef","occurred_at":"2024-07-02T10:30:00+01:00",` +
		`"payload":{"id":9007199254740993,"ratio":0.5}}`))
	is.NoErr(err)
	is.Equal(e.SourceEventID, "9")
	is.True(e.OccurredAt.Equal(time.Date(2024, 7, 2, 9, 30, 0, 0, time.UTC)))
	is.Equal(e.Payload["id"], json.Number("9007199254740993")) // exact beyond float precision

	// A surrogate pair is one character, and an escaped backslash before
	// "ud800" is not an escape.
	e, err = bronze.ParseEnvelope([]byte(`{"source_system":"g","event_type":"t",` +
		`"occurred_at":"2024-07-02T09:30:00Z","payload":{"a":"\ud83d\ude00","b":"\\ud800"}}`))
	is.NoErr(err)
	is.Equal(e.Payload["a"], "\U0001F600")
	is.Equal(e.Payload["b"], `\ud800`)

	// Keys repeated inside the payload, or inside strings, are the
	// payload's own business.
	e, err = bronze.ParseEnvelope([]byte(`{"source_system":"g","event_type":"t",` +
		`"occurred_at":"2024-07-02T09:30:00Z","payload":{"x":{"source_system":1},` +
		`"y":[{"k":1},{"k":2}],"s":"\",\"source_system\":"}}`))
	is.NoErr(err)
	is.Equal(e.SourceSystem, "g")

	// RFC 3339 allows a lower-case "t" and "z".
	e, err = bronze.ParseEnvelope([]byte(`{"source_system":"g","event_type":"t",` +
		`"occurred_at":"2024-07-02t09:30:00.5z","payload":{}}`))
	is.NoErr(err)
	is.True(e.OccurredAt.Equal(time.Date(2024, 7, 2, 9, 30, 0, 5e8, time.UTC)))
}

func TestParseEnvelopeErrors(t *testing.T) {
	tests := []struct {
		name, line, want string
	}{
		{"not json", `{`, "invalid envelope JSON"},
		{"unknown field", `{"source":"x"}`, `unknown field "source"`},
		{"no offset", `{"source_system":"g","event_type":"t","occurred_at":"2024-07-02T10:30:00",` +
			`"payload":{}}`, "with an offset"},
		{"offset of 24 hours", `{"source_system":"g","event_type":"t",` +
			`"occurred_at":"2024-07-02T09:30:00+24:00","payload":{}}`, `"2024-07-02T09:30:00+24:00"`},
		{"offset of 60 minutes", `{"source_system":"g","event_type":"t",` +
			`"occurred_at":"2024-07-02T09:30:00-01:60","payload":{}}`, "with an offset"},
		{"comma fraction", `{"source_system":"g","event_type":"t",` +
			`"occurred_at":"2024-07-02T09:30:00,5Z","payload":{}}`, "with an offset"},
		{"no time", `{"source_system":"g","event_type":"t","payload":{}}`, "occurred_at is missing"},
		{"no payload", `{"source_system":"g","event_type":"t","occurred_at":"2024-07-02T10:30:00Z"}`,
			"payload is missing"},
		{"array payload", `{"source_system":"g","event_type":"t","occurred_at":"2024-07-02T10:30:00Z",` +
			`"payload":[1]}`, "payload must be a JSON object"},
		{"missing type", `{"source_system":"g","occurred_at":"2024-07-02T10:30:00Z","payload":{}}`,
			"event_type is missing"},
		{"two values", `{"source_system":"g","event_type":"t","occurred_at":"2024-07-02T10:30:00Z",` +
			`"payload":{}} {}`, "more than one value"},
		{"invalid UTF-8", "{\"source_system\":\"g\xff\"}",
			"the byte at offset 19 is not valid UTF-8: write the line in UTF-8"},
		{"lone high surrogate", `{"source_system":"g","payload":{"t":"a\ud800"}}`,
			"the escape at offset 38 is half of a UTF-16 surrogate pair"},
		{"lone low surrogate", `{"source_event_id":"k\udfff"}`, "the escape at offset 21 is half"},
		{"high before text", `{"source_event_id":"\ud83dx\ude00"}`, "the escape at offset 20 is half"},
		{"repeated payload", `{"payload":{"a":1},"source_system":"g","payload":{"a":2}}`,
			`the field "payload" appears more than once`},
		{"repeated escaped key", `{"event_type":"t","event\u005ftype":"u"}`,
			`the field "event_type" appears more than once`},
		{"array line", `[1, 2, 3]`, "the line is a JSON array: give one envelope object per line"},
		{"number line", ` 42`, "the line is a JSON number"},
		{"number field", `{"source_system":5}`, "source_system is a JSON number: give a string"},
		{"object time", `{"occurred_at":{}}`, "occurred_at is a JSON object: give a string with"},
		{"zero time", `{"source_system":"g","event_type":"t","occurred_at":"0001-01-01T00:00:00Z",` +
			`"payload":{}}`, "Go's zero time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			_, err := bronze.ParseEnvelope([]byte(tt.line))
			is.True(err != nil)
			is.True(strings.Contains(err.Error(), tt.want)) // message names the problem
		})
	}
}
