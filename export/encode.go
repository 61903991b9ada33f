package export

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Format is the encoding of an export.
type Format string

// The export formats.
const (
	// JSON is one JSON array, with one element per line.
	JSON Format = "json"
	// JSONLines is one JSON object per line.
	JSONLines Format = "jsonl"
	// CSV is RFC 4180 CSV with a header row named as the JSON keys.
	// Nested values, such as payloads and lists, are JSON text.
	CSV Format = "csv"
)

// Formats lists every format.
var Formats = []Format{JSON, JSONLines, CSV}

// Encoder writes values one at a time in a format. Close ends the
// output, so a JSON array or a CSV file with no rows is still complete.
type Encoder struct {
	w      io.Writer
	format Format
	csv    *csv.Writer
	count  int
}

// NewEncoder returns an encoder that writes to w. For CSV, the columns
// are the JSON keys of prototype, a struct or a pointer to one, and the
// header row is written at once. Embedded structs contribute their
// fields, unless the embedded pointer is nil.
func NewEncoder(w io.Writer, format Format, prototype any) (*Encoder, error) {
	e := &Encoder{w: w, format: format}
	if format != CSV {
		return e, nil
	}

	e.csv = csv.NewWriter(w)
	var header []string
	err := walkFields(reflect.ValueOf(prototype), func(name string, _ reflect.Value) error {
		header = append(header, name)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := e.csv.Write(header); err != nil {
		return nil, fmt.Errorf("write the CSV header: %w", err)
	}
	return e, nil
}

// Encode writes v, which for CSV must have the prototype's type.
func (e *Encoder) Encode(v any) error {
	e.count++
	if e.format == CSV {
		var record []string
		err := walkFields(reflect.ValueOf(v), func(_ string, field reflect.Value) error {
			text, err := csvText(field)
			record = append(record, text)
			return err
		})
		if err != nil {
			return err
		}
		return e.csv.Write(record)
	}

	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode an export row as JSON: %w", err)
	}
	// A JSON element's comma ends the line of the element before it, so
	// the array's last element needs no look-ahead.
	text := string(data) + "\n"
	if e.format == JSON {
		text = ",\n" + string(data)
		if e.count == 1 {
			text = "[\n" + string(data)
		}
	}
	_, err = io.WriteString(e.w, text)
	return err
}

// Close ends the output: it closes a JSON array and flushes CSV. It does
// not close the writer.
func (e *Encoder) Close() error {
	switch e.format {
	case CSV:
		e.csv.Flush()
		return e.csv.Error()
	case JSON:
		end := "\n]\n"
		if e.count == 0 {
			end = "[]\n"
		}
		_, err := io.WriteString(e.w, end)
		return err
	}
	return nil
}

// walkFields calls fn with the JSON key and value of each field of the
// struct v, in order, descending into embedded structs.
func walkFields(v reflect.Value, fn func(name string, field reflect.Value) error) error {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return fmt.Errorf("export CSV rows must be structs, not %s", v.Type())
	}

	t := v.Type()
	for i := range t.NumField() {
		field := t.Field(i)
		// NOTE: unlike encoding/json, this skips the fields of an embedded
		// struct whose type is unexported, because reflection cannot read
		// them as interface values.
		if !field.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(field.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if field.Anonymous && name == "" {
			if err := walkFields(v.Field(i), fn); err != nil {
				return err
			}
			continue
		}
		if name == "" {
			name = field.Name
		}
		if err := fn(name, v.Field(i)); err != nil {
			return err
		}
	}
	return nil
}

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

// csvText returns a field's CSV cell: text and numbers as they are,
// times in RFC 3339 UTC, nil as an empty cell, and anything else as
// JSON.
func csvText(v reflect.Value) (string, error) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "", nil
		}
		v = v.Elem()
	}

	switch {
	case v.Type() == timeType:
		return v.Interface().(time.Time).UTC().Format(time.RFC3339Nano), nil
	case v.Type() == rawType:
		return string(v.Bytes()), nil
	}
	switch v.Kind() {
	case reflect.String:
		return v.String(), nil
	case reflect.Int, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10), nil
	case reflect.Bool:
		return strconv.FormatBool(v.Bool()), nil
	}

	data, err := json.Marshal(v.Interface())
	if err != nil {
		return "", fmt.Errorf("encode an export cell as JSON: %w", err)
	}
	return string(data), nil
}
