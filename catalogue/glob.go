package catalogue

import (
	"fmt"
	"regexp"
	"strings"
)

// Glob is a compiled path pattern, the syntax of documentation paths and
// of noise filters' ignore_paths. Paths and patterns are compared after
// NormalizePath, case-sensitively, as a whole:
//
//   - "**" as a whole segment matches any number of directories,
//     including none: "docs/**" matches "docs" and everything under it,
//     "**/*.md" matches Markdown files at any depth;
//   - "*" matches any run of characters within one segment, and "?" one
//     character, never "/": "docs/adr-*.md" matches "docs/adr-001.md" but
//     not "docs/old/adr-001.md";
//   - "[abc]", "[a-z]" and "[!abc]" match one character of a class;
//   - a pattern without wildcards matches that path and, as a directory,
//     every path under it: "docs" matches "docs/roadmap.md".
type Glob struct {
	pattern string
	re      *regexp.Regexp
}

// CompileGlob compiles a path pattern. It fails for an empty pattern and
// for one that no repository path can match: an absolute path, a ".."
// segment, or braces, which this syntax does not expand. It also fails
// for a "**" that shares its segment with other characters, and for an
// unclosed character class.
func CompileGlob(pattern string) (*Glob, error) {
	normalized := NormalizePath(pattern)
	if normalized == "" || normalized == "." {
		return nil, fmt.Errorf("invalid path pattern %q: it is empty", pattern)
	}
	if strings.HasPrefix(normalized, "/") {
		return nil, fmt.Errorf("invalid path pattern %q: paths are relative to the repository "+
			"root, so drop the leading '/'", pattern)
	}
	if normalized == ".." || strings.HasPrefix(normalized, "../") ||
		strings.Contains(normalized, "/../") || strings.HasSuffix(normalized, "/..") {
		return nil, fmt.Errorf("invalid path pattern %q: '..' leaves the repository", pattern)
	}
	if strings.ContainsAny(normalized, "{}") {
		return nil, fmt.Errorf("invalid path pattern %q: braces are not expanded; "+
			"list each path instead", pattern)
	}

	if !strings.ContainsAny(normalized, "*?[") {
		re := regexp.MustCompile("^" + regexp.QuoteMeta(normalized) + "(?:/.*)?$")
		return &Glob{pattern: normalized, re: re}, nil
	}

	var b strings.Builder
	b.WriteString("^")
	segments := strings.Split(normalized, "/")
	for i, seg := range segments {
		last := i == len(segments)-1
		switch {
		case seg == "**" && last && i == 0:
			b.WriteString(".*")
		case seg == "**" && last:
			// "a/**" matches "a" itself and everything under it.
			return compileWith(pattern, normalized, strings.TrimSuffix(b.String(), "/")+"(?:/.*)?$")
		case seg == "**":
			b.WriteString("(?:[^/]+/)*")
		case strings.Contains(seg, "**"):
			return nil, fmt.Errorf("invalid path pattern %q: \"**\" must be a whole segment, "+
				"as in docs/**/*.md", pattern)
		default:
			if err := writeSegment(&b, seg); err != nil {
				return nil, fmt.Errorf("invalid path pattern %q: %w", pattern, err)
			}
			if !last {
				b.WriteString("/")
			}
		}
	}
	b.WriteString("$")
	return compileWith(pattern, normalized, b.String())
}

func compileWith(pattern, normalized, expr string) (*Glob, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("invalid path pattern %q: %w", pattern, err)
	}
	return &Glob{pattern: normalized, re: re}, nil
}

// writeSegment translates one segment's wildcards into a regexp.
func writeSegment(b *strings.Builder, seg string) error {
	for i := 0; i < len(seg); i++ {
		switch c := seg[i]; c {
		case '*':
			b.WriteString("[^/]*")
		case '?':
			b.WriteString("[^/]")
		case '[':
			end := strings.IndexByte(seg[i+1:], ']')
			if end < 0 {
				return fmt.Errorf("character class %q is not closed with ]", seg[i:])
			}
			class := seg[i+1 : i+1+end]
			if class == "" || class == "!" || class == "^" {
				return fmt.Errorf("character class [%s] is empty", class)
			}
			negate := class[0] == '!' || class[0] == '^'
			if negate {
				class = class[1:]
			}
			b.WriteString("[")
			if negate {
				b.WriteString("^/")
			}
			b.WriteString(strings.NewReplacer(`\`, `\\`, "[", `\[`).Replace(class))
			b.WriteString("]")
			i += end + 1
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	return nil
}

// String returns the normalized pattern.
func (g *Glob) String() string { return g.pattern }

// Match reports whether the path, normalized, matches the pattern.
func (g *Glob) Match(p string) bool {
	return g.re.MatchString(NormalizePath(p))
}

// NormalizePath trims a repository path, turns backslashes into slashes,
// and cleans it: "//" collapses, "." segments and a trailing "/" go, so
// "docs/" and "./docs" both become "docs". ".." segments are kept, since
// a repository path has no parent to resolve them against.
func NormalizePath(p string) string {
	p = strings.ReplaceAll(strings.TrimSpace(p), `\`, "/")
	if p == "" {
		return ""
	}

	var kept []string
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." {
			continue
		}
		kept = append(kept, seg)
	}
	cleaned := strings.Join(kept, "/")
	if strings.HasPrefix(p, "/") {
		cleaned = "/" + cleaned
	}
	if cleaned == "" {
		return "."
	}
	return cleaned
}
