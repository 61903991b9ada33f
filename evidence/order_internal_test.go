package evidence

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestCompareDecimalMatchesText(t *testing.T) {
	ids := []int64{0, 1, 2, 9, 10, 11, 99, 100, 123, 1000, -1, -10, -9, 1 << 62, -1 << 63}
	for _, a := range ids {
		for _, c := range ids {
			want := strings.Compare(strconv.FormatInt(a, 10), strconv.FormatInt(c, 10))
			if got := compareDecimal(a, c); got != want {
				t.Errorf("compareDecimal(%d, %d) = %d, expected %d", a, c, got, want)
			}
		}
	}
}

func TestCompareJoinedMatchesText(t *testing.T) {
	keys := [][2]string{{"", ""}, {"a", ""}, {"a", "x"}, {"ab", ""}, {"ab", "x"}, {"abc", "a"},
		{"a\x00", "x"}, {"a\x00b", ""}, {"a", "\x00b"}, {"a\x01", ""}, {"b", "a"}}
	for _, a := range keys {
		for _, c := range keys {
			want := strings.Compare(a[0]+"\x00"+a[1], c[0]+"\x00"+c[1])
			if got := compareJoined(a[0], a[1], c[0], c[1]); got != want {
				t.Errorf("compareJoined(%q, %q, %q, %q) = %d, expected %d",
					a[0], a[1], c[0], c[1], got, want)
			}
		}
	}
}

// FuzzLabels checks that the labels the fast path decodes are the ones
// encoding/json decodes.
func FuzzLabels(f *testing.F) {
	for _, seed := range []string{`[]`, ` [ ] `, `["bug"]`, `["bug", "help wanted"]`,
		`["a","b"]`, "[\"a\"\t,\n\"b\"]\r", `null`, `["é"]`, `["a\"b"]`, `["a\\nb"]`,
		`["a",]`, `["a"`, `["a"] x`, `[1]`, `[""]`, `{"a":1}`, ``, `[`, `["`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		got, ok := parseASCIILabels(text)
		if !ok {
			return
		}
		var want []string
		if err := json.Unmarshal([]byte(text), &want); err != nil {
			t.Fatalf("%q: fast path decoded %q, encoding/json failed: %v", text, got, err)
		}
		if !slices.Equal(got, want) || (got == nil) != (want == nil) {
			t.Fatalf("%q: fast path decoded %q, encoding/json %q", text, got, want)
		}
	})
}
