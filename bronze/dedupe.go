package bronze

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// DedupeKey returns the SHA-256 key that identifies an envelope in
// raw_events, as 64 lower-case hex characters. It is the key the Python
// Ghillie computes, so a database shared with it gets no duplicates:
//
//  1. canon is the normalized payload as canonical JSON (see
//     CanonicalJSON), and ph its SHA-256 in hex;
//  2. the material is source_system, event_type, source_event_id,
//     repo_external_id, occurred_at (FormatTime) and ph, joined by "|",
//     with absent ids as empty strings;
//  3. the key is the SHA-256 of the material in hex.
//
// The key does not depend on payload key order or on the time zone of
// occurred_at.
func DedupeKey(e Envelope) (string, error) {
	if err := e.validate(); err != nil {
		return "", err
	}
	payload, err := Normalize(e.Payload)
	if err != nil {
		return "", err
	}
	return dedupeKey(e, payload)
}

// dedupeKey computes the key of an envelope whose payload is already
// normalized.
func dedupeKey(e Envelope, normalized map[string]any) (string, error) {
	canon, err := CanonicalJSON(normalized)
	if err != nil {
		return "", err
	}
	return keyFromCanonical(e, canon), nil
}

// keyFromCanonical computes the key from the payload's canonical JSON.
func keyFromCanonical(e Envelope, canon []byte) string {
	payloadHash := sha256.Sum256(canon)

	material := strings.Join([]string{
		cleanString(e.SourceSystem),
		cleanString(e.EventType),
		cleanString(e.SourceEventID),
		cleanString(e.RepoExternalID),
		FormatTime(e.OccurredAt),
		hex.EncodeToString(payloadHash[:]),
	}, "|")
	key := sha256.Sum256([]byte(material))
	return hex.EncodeToString(key[:])
}

// CanonicalJSON encodes a normalized value (see Normalize) as Python's
// json.dumps(value, sort_keys=True, separators=(",", ":")) does: keys
// sorted by code point, no spaces, every character outside printable
// ASCII escaped as \uXXXX (astral characters as surrogate pairs), and
// floats in Python's repr form (1.0, 1e-05, 1e+16).
func CanonicalJSON(v any) ([]byte, error) {
	var b strings.Builder
	if err := writeCanonical(&b, v); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

func writeCanonical(b *strings.Builder, v any) error {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case string:
		writeCanonicalString(b, v)
	case json.Number:
		b.WriteString(string(v))
	case float64:
		s, err := pythonFloat(v)
		if err != nil {
			return err
		}
		b.WriteString(s)
	case []any:
		b.WriteByte('[')
		for i, item := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeCanonical(b, item); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)

		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCanonicalString(b, k)
			b.WriteByte(':')
			if err := writeCanonical(b, v[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		return fmt.Errorf("canonical JSON: %T is not a normalized payload value", v)
	}
	return nil
}

func writeCanonicalString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for len(s) > 0 {
		// Copy the longest run that needs no escaping in one call.
		plain := 0
		for plain < len(s) && s[plain] >= 0x20 && s[plain] <= 0x7e && s[plain] != '"' && s[plain] != '\\' {
			plain++
		}
		b.WriteString(s[:plain])
		s = s[plain:]
		if len(s) == 0 {
			break
		}

		r, size := utf8.DecodeRuneInString(s)
		s = s[size:]
		writeEscaped(b, r)
	}
	b.WriteByte('"')
}

func writeEscaped(b *strings.Builder, r rune) {
	switch {
	case r == '"':
		b.WriteString(`\"`)
	case r == '\\':
		b.WriteString(`\\`)
	case r == '\n':
		b.WriteString(`\n`)
	case r == '\r':
		b.WriteString(`\r`)
	case r == '\t':
		b.WriteString(`\t`)
	case r == '\b':
		b.WriteString(`\b`)
	case r == '\f':
		b.WriteString(`\f`)
	case r > 0xffff:
		hi, lo := utf16.EncodeRune(r)
		writeUnicodeEscape(b, hi)
		writeUnicodeEscape(b, lo)
	default:
		writeUnicodeEscape(b, r)
	}
}

// writeUnicodeEscape writes a \uXXXX escape in lower-case hex.
func writeUnicodeEscape(b *strings.Builder, r rune) {
	const digits = "0123456789abcdef"
	b.WriteString(`\u`)
	b.WriteByte(digits[r>>12&0xf])
	b.WriteByte(digits[r>>8&0xf])
	b.WriteByte(digits[r>>4&0xf])
	b.WriteByte(digits[r&0xf])
}

// pythonFloat formats f as Python's repr does: the shortest digits that
// round-trip, in positional notation when the decimal exponent is from -4
// to 15, else in scientific notation with at least two exponent digits.
func pythonFloat(f float64) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("canonical JSON: %v cannot be represented", f)
	}

	scientific := strconv.FormatFloat(f, 'e', -1, 64)
	mantissa, exponent, _ := strings.Cut(scientific, "e")
	exp, err := strconv.Atoi(exponent)
	if err != nil {
		return "", fmt.Errorf("canonical JSON: format %v: %w", f, err)
	}

	if exp < -4 || exp >= 16 {
		// Go writes "1e+16" and "1.5e-05", which is Python's form too.
		return mantissa + "e" + exponent, nil
	}

	positional := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(positional, ".") {
		positional += ".0"
	}
	return positional, nil
}
