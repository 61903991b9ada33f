package evidence

import (
	"fmt"
	"regexp"
	"strings"
)

// Classifier decides the work type of commits, pull requests and issues
// from their labels and titles. The zero value is not usable: use
// DefaultClassifier or build one with NewClassifier.
type Classifier struct {
	labels   map[WorkType]map[string]bool
	prefixes map[WorkType][]*regexp.Regexp
	general  map[WorkType][]*regexp.Regexp
	fixWord  map[WorkType]bool
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
		prefixes: map[WorkType][]*regexp.Regexp{}, general: map[WorkType][]*regexp.Regexp{},
		fixWord: map[WorkType]bool{}}
	for t, r := range rules {
		c.fixWord[t] = r.FixWord
		c.labels[t] = map[string]bool{}
		for _, l := range r.Labels {
			c.labels[t][fold(l)] = true
		}
		for _, p := range r.Prefixes {
			re, err := regexp.Compile(p)
			if err != nil {
				return nil, fmt.Errorf("%s prefix pattern %q: %w", t, p, err)
			}
			c.prefixes[t] = append(c.prefixes[t], re)
		}
		for _, p := range r.General {
			re, err := regexp.Compile(p)
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
	folded := make(map[string]bool, len(labels))
	for _, l := range labels {
		folded[fold(l)] = true
	}
	for _, t := range labelOrder {
		for l := range folded {
			if c.labels[t][l] {
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
		for _, re := range c.prefixes[t] {
			if re.MatchString(text) {
				return t
			}
		}
	}
	for _, t := range generalOrder {
		if c.fixWord[t] && mentionsFix(text) {
			return t
		}
		for _, re := range append(c.prefixes[t], c.general[t]...) {
			if re.MatchString(text) {
				return t
			}
		}
	}
	return WorkUnknown
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
