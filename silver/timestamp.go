package silver

import (
	"fmt"
	"time"
)

// parseTimestamp parses an ISO-8601 date and time with a UTC offset and
// returns it in UTC. It accepts:
//
//	2024-07-02T09:30:00Z
//	2024-07-02 09:30:00.123456+02:00
//	2024-07-02T09:30+0200
//	2024-07-02T09:30:00,5-05
//
// The date and time are separated by "T", "t" or a space. Seconds are
// optional, and may have a fraction of 1 to 9 digits after "." or ",".
// The offset is "Z", "z", ±HH:MM, ±HHMM or ±HH. A value without an
// offset, including a bare date, is rejected, because the instant it
// names is unknown. The instant must fall in the years 1 to 9999 in UTC,
// the range that store.Time writes.
func parseTimestamp(field, s string) (time.Time, error) {
	// The errors are built only when needed: this runs for every
	// timestamp of every event.
	invalid := func() error {
		return &PayloadError{Field: field, Problem: fmt.Sprintf(
			"is not a valid ISO-8601 datetime: %q; use a form such as 2024-07-02T09:30:00Z", s)}
	}
	noZone := func() error {
		return &PayloadError{Field: field, Problem: fmt.Sprintf(
			"must include timezone information: %q; add Z or an offset such as +01:00", s)}
	}

	p := timestampParser{s: s}
	year, month, day := p.digits(4), p.expect('-', 2), p.expect('-', 2)
	if !p.ok {
		return time.Time{}, invalid()
	}
	if p.done() {
		return time.Time{}, noZone()
	}
	if c := p.next(); c != 'T' && c != 't' && c != ' ' {
		return time.Time{}, invalid()
	}

	hour, minute := p.digits(2), p.expect(':', 2)
	second, nanos := 0, 0
	if p.peek() == ':' {
		second = p.expect(':', 2)
		if c := p.peek(); c == '.' || c == ',' {
			p.next()
			nanos = p.fraction()
		}
	}
	if !p.ok {
		return time.Time{}, invalid()
	}
	if p.done() {
		return time.Time{}, noZone()
	}

	offset, ok := p.offset()
	if !ok || !p.done() {
		return time.Time{}, invalid()
	}

	if month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59 {
		return time.Time{}, invalid()
	}
	zone := time.FixedZone("", offset)
	t := time.Date(year, time.Month(month), day, hour, minute, second, nanos, zone)
	if t.Day() != day {
		// time.Date normalized an impossible day such as 31 June.
		return time.Time{}, invalid()
	}

	t = t.UTC()
	if t.Year() < 1 || t.Year() > 9999 || t.Truncate(time.Microsecond).IsZero() {
		return time.Time{}, &PayloadError{Field: field,
			Problem: "is out of range: it must be after 0001-01-01T00:00:00Z and before year 10000 in UTC"}
	}
	return t, nil
}

// timestampParser scans a timestamp left to right. Any mismatch clears
// ok, after which every method returns zero values.
type timestampParser struct {
	s   string
	pos int
	ok  bool
}

func (p *timestampParser) done() bool { return p.pos >= len(p.s) }

func (p *timestampParser) peek() byte {
	if p.done() {
		return 0
	}
	return p.s[p.pos]
}

func (p *timestampParser) next() byte {
	c := p.peek()
	p.pos++
	return c
}

// digits reads exactly n decimal digits. The first call also sets ok.
func (p *timestampParser) digits(n int) int {
	if p.pos == 0 {
		p.ok = true
	}
	if !p.ok || p.pos+n > len(p.s) {
		p.ok = false
		return 0
	}
	value := 0
	for _, c := range []byte(p.s[p.pos : p.pos+n]) {
		if c < '0' || c > '9' {
			p.ok = false
			return 0
		}
		value = value*10 + int(c-'0')
	}
	p.pos += n
	return value
}

// expect reads the separator sep followed by n digits.
func (p *timestampParser) expect(sep byte, n int) int {
	if !p.ok || p.next() != sep {
		p.ok = false
		return 0
	}
	return p.digits(n)
}

// fraction reads 1 to 9 digits of a second and returns nanoseconds.
func (p *timestampParser) fraction() int {
	start := p.pos
	for !p.done() && p.peek() >= '0' && p.peek() <= '9' {
		p.pos++
	}
	n := p.pos - start
	if n == 0 || n > 9 {
		p.ok = false
		return 0
	}
	p.pos = start
	nanos := p.digits(n)
	for range 9 - n {
		nanos *= 10
	}
	return nanos
}

// offset reads "Z", ±HH:MM, ±HHMM or ±HH and returns seconds east of
// UTC. Offsets of a day or more are rejected.
func (p *timestampParser) offset() (int, bool) {
	sign := 1
	switch p.next() {
	case 'Z', 'z':
		return 0, true
	case '+':
	case '-':
		sign = -1
	default:
		return 0, false
	}

	hours := p.digits(2)
	minutes := 0
	switch {
	case p.peek() == ':':
		minutes = p.expect(':', 2)
	case !p.done():
		minutes = p.digits(2)
	}
	if !p.ok || hours > 23 || minutes > 59 {
		return 0, false
	}
	return sign * (hours*3600 + minutes*60), true
}
