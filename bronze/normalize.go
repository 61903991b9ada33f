package bronze

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// PayloadError reports a payload value that cannot be stored.
type PayloadError struct {
	// Path locates the value, as in "payload.commits[2].author".
	Path string

	// Reason describes what is wrong with the value.
	Reason string
}

func (e *PayloadError) Error() string {
	return fmt.Sprintf("invalid payload value at %s: %s", e.Path, e.Reason)
}

// Normalize returns a deep copy of payload in the form the Writer stores
// and hashes. The copy contains only map[string]any, []any, string, bool,
// nil, json.Number (integers and the exact text of decoded numbers) and
// float64; payload itself is never modified.
//
//   - time.Time becomes an ISO-8601 string in UTC with a "+00:00" offset
//     and microseconds only when they are not zero; a zero time is
//     rejected.
//   - Strings, and map keys, replace NUL with U+FFFD, because PostgreSQL
//     cannot store NUL in text or JSON and both databases must hold the
//     same value. Invalid UTF-8 is replaced the same way.
//   - Maps with string keys, slices, arrays and pointers are copied;
//     integers of every size and finite floats are kept.
//   - NaN, infinities, channels, functions, complex numbers, structs other
//     than time.Time and maps without string keys are rejected with a
//     *PayloadError naming the path.
func Normalize(payload map[string]any) (map[string]any, error) {
	if payload == nil {
		return nil, &PayloadError{Path: "payload", Reason: "payload is nil: use an empty map"}
	}
	n := normalizer{path: make([]pathElem, 0, 8)}
	out, err := n.normalizeAny(payload)
	if err != nil {
		return nil, err
	}
	return out.(map[string]any), nil
}

// pathElem is one step of the path to a value: a map key, or an index
// when key is empty.
type pathElem struct {
	key   string
	index int
}

// normalizer walks a payload. The path is a stack that is rendered only
// for an error, because most payloads have none and building a string per
// value would dominate the cost.
type normalizer struct {
	path []pathElem
}

func (n *normalizer) push(key string, index int) { n.path = append(n.path, pathElem{key, index}) }
func (n *normalizer) pop()                       { n.path = n.path[:len(n.path)-1] }

func (n *normalizer) fail(reason string) *PayloadError {
	var b strings.Builder
	b.WriteString("payload")
	for _, e := range n.path {
		if e.key == "" {
			b.WriteString("[" + strconv.Itoa(e.index) + "]")
		} else {
			b.WriteString("." + e.key)
		}
	}
	return &PayloadError{Path: b.String(), Reason: reason}
}

var (
	timeType   = reflect.TypeFor[time.Time]()
	numberType = reflect.TypeFor[json.Number]()
)

// normalizeAny handles the types that decoded JSON and typical callers
// use without reflection, which is several times faster.
func (n *normalizer) normalizeAny(v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		if clean := cleanString(x); clean != x {
			return clean, nil
		}
		return v, nil // reuses the boxed value: no allocation
	case bool:
		return v, nil
	case json.Number:
		return n.normalizeNumber(x)
	case json.RawMessage:
		return n.normalizeRaw(x)
	case []byte:
		// encoding/json writes bytes as base64 text; so does the writer.
		return base64.StdEncoding.EncodeToString(x), nil
	case int:
		return json.Number(strconv.Itoa(x)), nil
	case int64:
		return json.Number(strconv.FormatInt(x, 10)), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, n.fail(fmt.Sprintf("%v cannot be represented in JSON", x))
		}
		return v, nil
	case time.Time:
		if x.IsZero() {
			return nil, n.fail("time is zero")
		}
		return FormatTime(x), nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, item := range x {
			key := cleanString(k)
			if _, dup := out[key]; dup {
				return nil, n.fail(fmt.Sprintf("keys %q collide once NUL and invalid UTF-8 are replaced", key))
			}
			n.push(key, 0)
			normalized, err := n.normalizeAny(item)
			if err != nil {
				return nil, err
			}
			n.pop()
			out[key] = normalized
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			n.push("", i)
			normalized, err := n.normalizeAny(item)
			if err != nil {
				return nil, err
			}
			n.pop()
			out[i] = normalized
		}
		return out, nil
	}
	return n.normalizeValue(reflect.ValueOf(v))
}

func (n *normalizer) normalizeValue(v reflect.Value) (any, error) {
	if !v.IsValid() {
		return nil, nil
	}

	switch v.Type() {
	case timeType, numberType:
		return n.normalizeAny(v.Interface())
	}

	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return nil, nil
		}
		return n.normalizeValue(v.Elem())
	case reflect.String:
		return cleanString(v.String()), nil
	case reflect.Bool:
		return v.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return json.Number(strconv.FormatInt(v.Int(), 10)), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return json.Number(strconv.FormatUint(v.Uint(), 10)), nil
	case reflect.Float32, reflect.Float64:
		return n.normalizeAny(v.Float())
	case reflect.Map:
		return n.normalizeMap(v)
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return nil, nil
		}
		items := make([]any, v.Len())
		for i := range v.Len() {
			n.push("", i)
			item, err := n.normalizeValue(v.Index(i))
			if err != nil {
				return nil, err
			}
			n.pop()
			items[i] = item
		}
		return items, nil
	}

	return nil, n.fail(fmt.Sprintf("unsupported type %s", v.Type()))
}

func (n *normalizer) normalizeMap(v reflect.Value) (any, error) {
	if v.Type().Key().Kind() != reflect.String {
		return nil, n.fail(fmt.Sprintf("map keys must be strings, not %s", v.Type().Key()))
	}
	if v.IsNil() {
		return nil, nil
	}

	out := make(map[string]any, v.Len())
	iter := v.MapRange()
	for iter.Next() {
		key := cleanString(iter.Key().String())
		if _, dup := out[key]; dup {
			return nil, n.fail(fmt.Sprintf("keys %q collide once NUL and invalid UTF-8 are replaced", key))
		}
		n.push(key, 0)
		item, err := n.normalizeValue(iter.Value())
		if err != nil {
			return nil, err
		}
		n.pop()
		out[key] = item
	}
	return out, nil
}

// normalizeNumber keeps integers as exact text and turns other numbers
// into float64, as a JSON decoder that distinguishes them would.
func (n *normalizer) normalizeNumber(number json.Number) (any, error) {
	if isPlainInteger(string(number)) {
		return number, nil
	}
	if !jsonNumber.MatchString(string(number)) {
		return nil, n.fail(fmt.Sprintf("%q is not a JSON number", string(number)))
	}
	if i, ok := new(big.Int).SetString(string(number), 10); ok {
		return json.Number(i.String()), nil
	}
	f, err := strconv.ParseFloat(string(number), 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, n.fail(fmt.Sprintf("%q is not a finite JSON number", string(number)))
	}
	return f, nil
}

// jsonNumber is the grammar of a JSON number (RFC 8259, section 6).
// strconv accepts more, such as "NaN", "1_000" and "0x1p4".
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// normalizeRaw decodes a json.RawMessage and normalizes its value, so it
// is stored as the JSON it contains rather than as a list of bytes.
func (n *normalizer) normalizeRaw(raw json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, n.fail(fmt.Sprintf("json.RawMessage is not valid JSON: %v", err))
	}
	if dec.More() {
		return nil, n.fail("json.RawMessage contains more than one JSON value")
	}
	return n.normalizeAny(v)
}

// isPlainInteger reports whether s is an integer in its shortest form,
// which needs no rewriting: an optional minus and digits without a
// leading zero, and not "-0".
func isPlainInteger(s string) bool {
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || (len(digits) > 1 && digits[0] == '0') || s == "-0" {
		return false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return false
		}
	}
	return true
}

func cleanString(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// FormatTime renders t as the writer stores timestamps inside payloads:
// ISO-8601 in UTC with a "+00:00" offset, truncated to microseconds, with
// the fraction only when it is not zero, as in 2024-06-01T08:30:00+00:00.
func FormatTime(t time.Time) string {
	t = t.UTC().Truncate(time.Microsecond)
	if t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04:05") + "+00:00"
	}
	return t.Format("2006-01-02T15:04:05.000000") + "+00:00"
}
