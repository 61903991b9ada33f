package silver

import (
	"encoding/json"
	"errors"
	"fmt"
)

// rawJSON is the text of a JSON object or array inside a payload, left
// undecoded until a field needs it. Metadata objects are stored as they
// are, so most are never decoded.
type rawJSON string

// scanPayload decodes the top level of a stored payload: strings,
// json.Number numbers, booleans and nulls become Go values, and nested
// objects and arrays stay rawJSON. It is much cheaper than decoding the
// whole payload into maps, which only the comparison of event facts
// needs.
func scanPayload(text string) (map[string]any, error) {
	if !json.Valid([]byte(text)) {
		return nil, errors.New("payload is not valid JSON")
	}

	s := payloadScanner{text: text}
	s.skipSpace()
	if s.peek() != '{' {
		return nil, errors.New("payload is not a JSON object")
	}
	s.pos++

	payload := map[string]any{}
	for {
		s.skipSpace()
		if s.peek() == '}' {
			return payload, nil
		}
		key, err := s.string()
		if err != nil {
			return nil, err
		}
		s.skipSpace()
		s.pos++ // the colon, present in valid JSON

		s.skipSpace()
		value, err := s.value()
		if err != nil {
			return nil, fmt.Errorf("payload key %q: %w", key, err)
		}
		payload[key] = value

		s.skipSpace()
		if s.peek() == ',' {
			s.pos++
		}
	}
}

// payloadScanner walks JSON text that json.Valid accepted, so it checks
// only what it needs to tell values apart.
type payloadScanner struct {
	text string
	pos  int
}

func (s *payloadScanner) peek() byte {
	if s.pos >= len(s.text) {
		return 0
	}
	return s.text[s.pos]
}

func (s *payloadScanner) skipSpace() {
	for s.pos < len(s.text) {
		switch s.text[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *payloadScanner) value() (any, error) {
	switch c := s.peek(); {
	case c == '"':
		return s.string()
	case c == '{' || c == '[':
		start := s.pos
		s.skipContainer()
		return rawJSON(s.text[start:s.pos]), nil
	case c == 't':
		s.pos += len("true")
		return true, nil
	case c == 'f':
		s.pos += len("false")
		return false, nil
	case c == 'n':
		s.pos += len("null")
		return nil, nil
	case c == '-' || (c >= '0' && c <= '9'):
		start := s.pos
		for s.pos < len(s.text) && isNumberByte(s.text[s.pos]) {
			s.pos++
		}
		return json.Number(s.text[start:s.pos]), nil
	}
	return nil, fmt.Errorf("unexpected %q at offset %d", s.peek(), s.pos)
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// string reads a JSON string. Strings without escapes, the usual case,
// are sliced from the text without decoding.
func (s *payloadScanner) string() (string, error) {
	if s.peek() != '"' {
		return "", fmt.Errorf("expected a string at offset %d", s.pos)
	}
	start := s.pos
	escaped := false
	for s.pos++; s.pos < len(s.text); s.pos++ {
		switch s.text[s.pos] {
		case '\\':
			escaped = true
			s.pos++
		case '"':
			s.pos++
			if !escaped {
				return s.text[start+1 : s.pos-1], nil
			}
			var out string
			err := json.Unmarshal([]byte(s.text[start:s.pos]), &out)
			return out, err
		}
	}
	return "", errors.New("unterminated string")
}

// skipContainer moves past an object or array, including the strings
// inside it, whose brackets do not count.
func (s *payloadScanner) skipContainer() {
	depth := 0
	for ; s.pos < len(s.text); s.pos++ {
		switch s.text[s.pos] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				s.pos++
				return
			}
		case '"':
			for s.pos++; s.pos < len(s.text) && s.text[s.pos] != '"'; s.pos++ {
				if s.text[s.pos] == '\\' {
					s.pos++
				}
			}
		}
	}
}
