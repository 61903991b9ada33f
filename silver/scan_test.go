package silver

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ghillie/ghillie/bronze"
)

// TestScanPayloadMatchesFullDecode checks that the top-level scanner
// reads every value as a full decode does, with nested values as text
// that decodes to the same value.
func TestScanPayloadMatchesFullDecode(t *testing.T) {
	payloads := []string{
		`{}`,
		` { "a" : 1 , "b" : "x" } `,
		`{"sha":"abc","n":-12.5e+3,"big":123456789012345678901234567890,"t":true,"f":false,"z":null}`,
		`{"esc":"quote \" backslash \\ tab \t unicode \u00e9 \ud83d\ude00","plain":"é😀"}`,
		`{"metadata":{"s":"brackets ] } [ { inside","q":"\"}","list":[1,[2,{"x":[]}]]},"after":"ok"}`,
		`{"labels":["a","b","a"],"empty":[],"obj":{}}`,
		`{"dup":1,"dup":2}`,
		`{"key with \"quote\"":"v"}`,
	}
	for _, text := range payloads {
		t.Run(text, func(t *testing.T) {
			scanned, err := scanPayload(text)
			if err != nil {
				t.Fatalf("scan: %v", err)
			}
			want, err := bronze.DecodePayload([]byte(text))
			if err != nil {
				t.Fatal(err)
			}

			got := map[string]any{}
			for key, value := range scanned {
				if raw, ok := value.(rawJSON); ok {
					decoded, err := bronze.DecodePayload([]byte(`{"v":` + string(raw) + `}`))
					if err != nil {
						t.Fatalf("nested value of %q is not JSON: %q: %v", key, raw, err)
					}
					value = decoded["v"]
				}
				got[key] = value
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("scan differs from a full decode (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScanPayloadRejectsNonObjects(t *testing.T) {
	for _, text := range []string{``, `[]`, `"text"`, `1`, `null`, `{"a":}`, `{"a":1`, `{"a":1}}`} {
		if _, err := scanPayload(text); err == nil {
			t.Errorf("scanPayload(%q) returned no error", text)
		}
	}
}

// FuzzScanPayload checks that the scanner never panics and agrees with a
// full decode on which texts are JSON objects.
func FuzzScanPayload(f *testing.F) {
	f.Add(`{"a":"b","c":[1,{"d":"]"}]}`)
	f.Add(`{"e":"\"\\"}`)
	f.Fuzz(func(t *testing.T, text string) {
		_, err := scanPayload(text)
		var object map[string]any
		decodeErr := json.Unmarshal([]byte(text), &object)
		if (err == nil) != (decodeErr == nil && object != nil) {
			t.Errorf("scanPayload(%q) error %v, json.Unmarshal error %v", text, err, decodeErr)
		}
	})
}
