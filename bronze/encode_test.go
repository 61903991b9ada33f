package bronze

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

// TestCanonicalPayloadMatchesNormalize checks that the writer's one-pass
// encoding gives the text, or the failure, of Normalize then
// CanonicalJSON.
func TestCanonicalPayloadMatchesNormalize(t *testing.T) {
	when := time.Date(2024, 6, 1, 8, 30, 0, 123456789, time.FixedZone("CEST", 2*3600))
	payloads := map[string]map[string]any{
		"empty":   {},
		"scalars": {"s": "text", "t": true, "n": nil, "i": 42, "i64": int64(-7), "f": 1.5, "big": 1e16},
		"numbers": {"exact": json.Number("12345678901234567890"), "float": json.Number("1.0"),
			"exp": json.Number("1e2"), "neg": json.Number("-0")},
		"nested":  {"a": map[string]any{"z": []any{1, "two", map[string]any{"k": false}}, "b": []any{}}},
		"unicode": {"é": "naïve ☃ 😀", "nul\x00key": "nul\x00value", "bad": "\xff\xfe"},
		"typed": {"strings": map[string]string{"b": "2", "a": "1"}, "ints": []int{3, 2, 1},
			"ptr": new(int), "time": when, "raw": json.RawMessage(`{"x":[1,2.50,"y"]}`), "bytes": []byte("hi")},
		"collide":    {"a\x00": 1, "a\uFFFD": 2},
		"nan":        {"deep": []any{map[string]any{"x": math.NaN()}}},
		"zero time":  {"when": time.Time{}},
		"bad number": {"n": json.Number("1_000")},
		"struct":     {"v": struct{ A int }{1}},
	}
	for name, payload := range payloads {
		t.Run(name, func(t *testing.T) {
			got, gotErr := canonicalPayload(payload)

			var want string
			normalized, wantErr := Normalize(payload)
			if wantErr == nil {
				var canon []byte
				canon, wantErr = CanonicalJSON(normalized)
				want = string(canon)
			}

			if (gotErr == nil) != (wantErr == nil) {
				t.Fatalf("one pass returned error %v, two steps %v", gotErr, wantErr)
			}
			if got != want {
				t.Fatalf("one pass encoded\n%s\ntwo steps\n%s", got, want)
			}
		})
	}
}
