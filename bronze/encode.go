package bronze

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// canonicalPayload normalizes payload and encodes it as canonical JSON in
// one pass. It returns the text of CanonicalJSON(Normalize(payload))
// without building the normalized copy, whose maps took more CPU than
// encoding and hashing together in a profile of BenchmarkWriteBatch.
// Maps, slices and the common scalars are encoded as they are walked.
// Every other value is normalized on its own first, then encoded.
func canonicalPayload(payload map[string]any) (string, error) {
	if payload == nil {
		return "", &PayloadError{Path: "payload", Reason: "payload is nil: use an empty map"}
	}

	n := normalizer{path: make([]pathElem, 0, 8)}
	var b strings.Builder
	b.Grow(512)
	if err := n.encode(&b, payload); err != nil {
		return "", err
	}
	return b.String(), nil
}

func (n *normalizer) encode(b *strings.Builder, v any) error {
	switch x := v.(type) {
	case map[string]any:
		return n.encodeMap(b, x)
	case []any:
		b.WriteByte('[')
		for i, item := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			n.push("", i)
			if err := n.encode(b, item); err != nil {
				return err
			}
			n.pop()
		}
		b.WriteByte(']')
		return nil
	case string:
		writeCanonicalString(b, cleanString(x))
		return nil
	case nil:
		b.WriteString("null")
		return nil
	case bool:
		b.WriteString(strconv.FormatBool(x))
		return nil
	case int:
		var digits [20]byte
		b.Write(strconv.AppendInt(digits[:0], int64(x), 10))
		return nil
	case int64:
		var digits [20]byte
		b.Write(strconv.AppendInt(digits[:0], x, 10))
		return nil
	}

	normalized, err := n.normalizeAny(v)
	if err != nil {
		return err
	}
	return writeCanonical(b, normalized)
}

// mapEntry is a map key as stored, with the key it has in the payload.
type mapEntry struct{ key, original string }

func (n *normalizer) encodeMap(b *strings.Builder, m map[string]any) error {
	entries := make([]mapEntry, 0, len(m))
	for k := range m {
		entries = append(entries, mapEntry{key: cleanString(k), original: k})
	}
	slices.SortFunc(entries, func(x, y mapEntry) int { return strings.Compare(x.key, y.key) })
	for i := 1; i < len(entries); i++ {
		if entries[i].key == entries[i-1].key {
			return n.fail(fmt.Sprintf("keys %q collide once NUL and invalid UTF-8 are replaced", entries[i].key))
		}
	}

	b.WriteByte('{')
	for i, e := range entries {
		if i > 0 {
			b.WriteByte(',')
		}
		writeCanonicalString(b, e.key)
		b.WriteByte(':')
		n.push(e.key, 0)
		if err := n.encode(b, m[e.original]); err != nil {
			return err
		}
		n.pop()
	}
	b.WriteByte('}')
	return nil
}
