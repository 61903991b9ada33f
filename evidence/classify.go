package evidence

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
)

// Classifier decides the work type of commits, pull requests and issues
// from their labels and titles. The zero value is not usable: use
// DefaultClassifier or build one with NewClassifier.
type Classifier struct {
	labels   map[WorkType]map[string]bool
	prefixes map[WorkType][]pattern
	general  map[WorkType][]pattern
	fixWord  map[WorkType]bool
}

// pattern is a compiled title pattern with the literal text that every
// match contains, which is checked first because a regular expression
// costs far more than a substring search.
type pattern struct {
	re *regexp.Regexp

	// literal is "" when the pattern has no such text. anchored is true
	// when every match starts with it.
	literal  string
	anchored bool
}

func compilePattern(expr string) (pattern, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return pattern{}, err
	}
	p := pattern{re: re}

	// regexp.Compile has parsed expr with these flags, so this parse
	// succeeds. Only a literal directly in the pattern's top-level sequence
	// is in every match, because one inside a group may be optional.
	tree, err := syntax.Parse(expr, syntax.Perl)
	if err != nil || tree.Op != syntax.OpConcat {
		return p, nil
	}
	for i, part := range tree.Sub {
		if part.Op == syntax.OpLiteral && part.Flags&syntax.FoldCase == 0 {
			p.literal = string(part.Rune)
			p.anchored = i == 1 && tree.Sub[0].Op == syntax.OpBeginText
			break
		}
	}
	return p, nil
}

func (p pattern) match(text string) bool {
	switch {
	case p.literal == "":
	case p.anchored && !strings.HasPrefix(text, p.literal):
		return false
	case !p.anchored && !strings.Contains(text, p.literal):
		return false
	}
	return p.re.MatchString(text)
}

// Rules are the labels and title patterns of one work type. Prefix
// patterns are tried first, across types; general patterns only when no
// prefix matched. Patterns are matched against the lower-cased title.
type Rules struct {
	Labels   []string
	Prefixes []string
	General  []string

	// FixWord adds a general rule for the word fix, fixes or fixed
	// anywhere in the title, except after a letter or hyphen. It is built
	// in because Go's regular expressions have no look-behind.
	FixWord bool
}

// DefaultRules are the rules of the Python Ghillie.
var DefaultRules = map[WorkType]Rules{
	WorkFeature: {
		Labels:   []string{"feature", "enhancement", "new feature", "feat"},
		Prefixes: []string{`^feat(\(.+\))?:`, `^add\s`, `^implement\s`, `^introduce\s`},
	},
	WorkBug: {
		Labels:   []string{"bug", "bugfix", "fix", "defect", "hotfix"},
		Prefixes: []string{`^fix(\(.+\))?:`, `^bugfix:`, `^hotfix:`},
		FixWord:  true,
	},
	WorkRefactor: {
		Labels: []string{"refactor", "refactoring", "tech debt", "technical debt",
			"cleanup"},
		Prefixes: []string{`^refactor(\(.+\))?:`},
		General:  []string{`\brefactor\b`, `\bcleanup\b`},
	},
	WorkChore: {
		Labels: []string{"chore", "maintenance", "dependencies", "deps", "ci", "build"},
		Prefixes: []string{`^chore(\(.+\))?:`, `^ci(\(.+\))?:`, `^build(\(.+\))?:`,
			`^update\s+.*dependenc`},
		General: []string{`\bdependenc(y|ies)\b`, `\bbump\b`},
	},
	WorkDocumentation: {
		Labels: []string{"documentation", "docs", "doc"},
	},
}

// NewClassifier compiles rules; a work type without rules never matches.
func NewClassifier(rules map[WorkType]Rules) (*Classifier, error) {
	c := &Classifier{labels: map[WorkType]map[string]bool{},
		prefixes: map[WorkType][]pattern{}, general: map[WorkType][]pattern{},
		fixWord: map[WorkType]bool{}}
	for t, r := range rules {
		c.fixWord[t] = r.FixWord
		c.labels[t] = map[string]bool{}
		for _, l := range r.Labels {
			c.labels[t][fold(l)] = true
		}
		for _, p := range r.Prefixes {
			re, err := compilePattern(p)
			if err != nil {
				return nil, fmt.Errorf("%s prefix pattern %q: %w", t, p, err)
			}
			c.prefixes[t] = append(c.prefixes[t], re)
		}
		for _, p := range r.General {
			re, err := compilePattern(p)
			if err != nil {
				return nil, fmt.Errorf("%s pattern %q: %w", t, p, err)
			}
			c.general[t] = append(c.general[t], re)
		}
	}
	return c, nil
}

// DefaultClassifier classifies with DefaultRules.
var DefaultClassifier = mustClassifier(DefaultRules)

func mustClassifier(rules map[WorkType]Rules) *Classifier {
	c, err := NewClassifier(rules)
	if err != nil {
		panic(err)
	}
	return c
}

func fold(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Label precedence when several types match, and the orders of the two
// title passes: prefixes first (so "ci: fix pipeline" is a chore), then
// every pattern.
var (
	labelOrder   = []WorkType{WorkBug, WorkFeature, WorkRefactor, WorkDocumentation, WorkChore}
	prefixOrder  = []WorkType{WorkBug, WorkChore, WorkFeature, WorkRefactor}
	generalOrder = []WorkType{WorkBug, WorkFeature, WorkRefactor, WorkChore}
)

// Entity returns the work type of a pull request or issue: from its
// labels when one matches, else from its title, else WorkUnknown.
func (c *Classifier) Entity(labels []string, title string) WorkType {
	for _, t := range labelOrder {
		for _, l := range labels {
			if c.labels[t][fold(l)] {
				return t
			}
		}
	}
	return c.Title(title)
}

// Commit returns the work type of a commit from its message.
func (c *Classifier) Commit(message string) WorkType { return c.Title(message) }

// Title returns the work type a title or message names, or WorkUnknown.
func (c *Classifier) Title(title string) WorkType {
	if title == "" {
		return WorkUnknown
	}

	text := strings.ToLower(title)
	for _, t := range prefixOrder {
		if matchAny(c.prefixes[t], text) {
			return t
		}
	}
	for _, t := range generalOrder {
		if c.fixWord[t] && mentionsFix(text) {
			return t
		}
		if matchAny(c.prefixes[t], text) || matchAny(c.general[t], text) {
			return t
		}
	}
	return WorkUnknown
}

func matchAny(patterns []pattern, text string) bool {
	for _, p := range patterns {
		if p.match(text) {
			return true
		}
	}
	return false
}

// mentionsFix reports whether text has the word fix, fixes or fixed not
// preceded by a letter or hyphen and not followed by a letter, so
// "fixes #12" counts and "prefix" and "hot-fix" do not.
func mentionsFix(text string) bool {
	isLetter := func(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }
	for i := 0; i < len(text); i++ {
		if !strings.HasPrefix(text[i:], "fix") {
			continue
		}
		if i > 0 && (isLetter(text[i-1]) || text[i-1] == '-') {
			continue
		}
		for _, word := range []string{"fixes", "fixed", "fix"} {
			if !strings.HasPrefix(text[i:], word) {
				continue
			}
			end := i + len(word)
			if end == len(text) || !isLetter(text[end]) {
				return true
			}
		}
	}
	return false
}

// IsMergeCommit reports whether a commit message is a merge's.
func IsMergeCommit(message string) bool {
	m := strings.ToLower(message)
	return strings.HasPrefix(m, "merge ") || strings.HasPrefix(m, "merge pull request")
}
