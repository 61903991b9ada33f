package githubapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ghillie/ghillie/ingest"
)

var (
	errMissing = errors.New("not in the response")
	errNull    = errors.New("null")
)

// fieldReader converts response fields to Go values. It keeps the first
// problem as an *ingest.ShapeError naming the field by its dotted path,
// so a mapping reads every field and checks once at the end.
type fieldReader struct {
	err error
}

func (r *fieldReader) fail(name string, err error) {
	if r.err == nil {
		r.err = &ingest.ShapeError{Field: name, Err: err}
	}
}

// value returns the raw value of f, or nil for null. A required field
// that is missing or null is a problem; an optional one must still be
// present, because githubv4 asked for it.
func (r *fieldReader) value(name string, f field, required bool) json.RawMessage {
	switch {
	case !f.set:
		r.fail(name, errMissing)
		return nil
	case string(f.raw) == "null":
		if required {
			r.fail(name, errNull)
		}
		return nil
	}
	return f.raw
}

func (r *fieldReader) decode(name string, f field, required bool, v any, want string) bool {
	raw := r.value(name, f, required)
	if raw == nil {
		return false
	}
	if err := json.Unmarshal(raw, v); err != nil {
		r.fail(name, fmt.Errorf("want %s, got %s", want, shorten(raw)))
		return false
	}
	return true
}

func (r *fieldReader) str(name string, f field) string {
	var s string
	r.decode(name, f, true, &s, "a string")
	return s
}

func (r *fieldReader) optStr(name string, f field) string {
	var s string
	r.decode(name, f, false, &s, "a string")
	return s
}

func (r *fieldReader) boolean(name string, f field) bool {
	var b bool
	r.decode(name, f, true, &b, "a boolean")
	return b
}

func (r *fieldReader) integer(name string, f field) int64 {
	var n int64
	r.decode(name, f, true, &n, "an integer")
	return n
}

// bigInt reads a GraphQL BigInt, which GitHub sends as a decimal string
// because its values can exceed what JSON numbers carry exactly.
func (r *fieldReader) bigInt(name string, f field) int64 {
	var s string
	if !r.decode(name, f, true, &s, "a BigInt string") {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		r.fail(name, fmt.Errorf("want a 64-bit integer, got %q", s))
	}
	return n
}

func (r *fieldReader) time(name string, f field) time.Time {
	return r.parseTime(name, f, true)
}

// optTime reads a nullable time; null is the zero time.
func (r *fieldReader) optTime(name string, f field) time.Time {
	return r.parseTime(name, f, false)
}

// parseTime reads an ISO-8601 DateTime or GitTimestamp and returns it in
// UTC. A time without an offset is rejected rather than guessed.
func (r *fieldReader) parseTime(name string, f field, required bool) time.Time {
	var s string
	if !r.decode(name, f, required, &s, "a time string") {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		r.fail(name, fmt.Errorf("want an RFC 3339 time with an offset, got %q", s))
		return time.Time{}
	}
	return t.UTC()
}

// shorten returns raw for an error message, cut to 80 bytes.
func shorten(raw []byte) string {
	if len(raw) > 80 {
		return string(raw[:80]) + "..."
	}
	return string(raw)
}
