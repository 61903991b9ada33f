package evidence_test

import (
	"testing"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/evidence"
)

func TestClassifyLabels(t *testing.T) {
	tests := []struct {
		labels []string
		want   evidence.WorkType
	}{
		{[]string{"bug"}, evidence.WorkBug}, {[]string{"bugfix"}, evidence.WorkBug},
		{[]string{"fix"}, evidence.WorkBug}, {[]string{"defect"}, evidence.WorkBug},
		{[]string{"hotfix"}, evidence.WorkBug}, {[]string{"feature"}, evidence.WorkFeature},
		{[]string{"enhancement"}, evidence.WorkFeature}, {[]string{"new feature"}, evidence.WorkFeature},
		{[]string{"feat"}, evidence.WorkFeature}, {[]string{"refactor"}, evidence.WorkRefactor},
		{[]string{"refactoring"}, evidence.WorkRefactor}, {[]string{"tech debt"}, evidence.WorkRefactor},
		{[]string{"cleanup"}, evidence.WorkRefactor}, {[]string{"chore"}, evidence.WorkChore},
		{[]string{"maintenance"}, evidence.WorkChore}, {[]string{"dependencies"}, evidence.WorkChore},
		{[]string{"deps"}, evidence.WorkChore}, {[]string{"ci"}, evidence.WorkChore},
		{[]string{"build"}, evidence.WorkChore}, {[]string{"documentation"}, evidence.WorkDocumentation},
		{[]string{"docs"}, evidence.WorkDocumentation}, {[]string{"doc"}, evidence.WorkDocumentation},
		{nil, evidence.WorkUnknown}, {[]string{"random"}, evidence.WorkUnknown},
		{[]string{"priority:high"}, evidence.WorkUnknown}, {[]string{"type: bug"}, evidence.WorkUnknown},
		{[]string{"BUG"}, evidence.WorkBug}, {[]string{"Feature"}, evidence.WorkFeature},
		{[]string{"REFACTOR"}, evidence.WorkRefactor}, {[]string{"  bug  "}, evidence.WorkBug},
		{[]string{" enhancement "}, evidence.WorkFeature}, {[]string{"feature", "bug"}, evidence.WorkBug},
		{[]string{"docs", "chore"}, evidence.WorkDocumentation},
	}
	for _, tt := range tests {
		t.Run(tt.want.String()+"/"+join(tt.labels), func(t *testing.T) {
			is.New(t).Equal(evidence.DefaultClassifier.Entity(tt.labels, ""), tt.want)
		})
	}
}

func join(labels []string) string {
	out := ""
	for _, l := range labels {
		out += "[" + l + "]"
	}
	return out
}

func TestClassifyTitles(t *testing.T) {
	tests := []struct {
		title string
		want  evidence.WorkType
	}{
		{"fix: resolve login issue", evidence.WorkBug},
		{"fix(auth): handle null token", evidence.WorkBug},
		{"bugfix: correct calculation", evidence.WorkBug},
		{"hotfix: emergency patch", evidence.WorkBug},
		{"feat: add dark mode", evidence.WorkFeature},
		{"feat(ui): implement sidebar", evidence.WorkFeature},
		{"add new payment method", evidence.WorkFeature},
		{"implement caching layer", evidence.WorkFeature},
		{"introduce rate limiting", evidence.WorkFeature},
		{"refactor: clean up auth module", evidence.WorkRefactor},
		{"refactor(db): simplify queries", evidence.WorkRefactor},
		{"cleanup unused imports", evidence.WorkRefactor},
		{"chore: update dependencies", evidence.WorkChore},
		{"ci: fix pipeline", evidence.WorkChore},
		{"build: upgrade webpack", evidence.WorkChore},
		{"bump version to 2.0", evidence.WorkChore},
		{"update dependency versions", evidence.WorkChore},
		{"This fixes the bug", evidence.WorkBug},
		{"Fixed the issue", evidence.WorkBug},
		{"prefix-fix", evidence.WorkUnknown},
		{"", evidence.WorkUnknown},
		{"Update README", evidence.WorkUnknown},
		{"Merge branch main", evidence.WorkUnknown},
		{"FIX: resolve issue", evidence.WorkBug},
		{"FEAT: add feature", evidence.WorkFeature},
		{"REFACTOR: clean up", evidence.WorkRefactor},
		{"fix: add error handling", evidence.WorkBug},
		{"docs: fix typo", evidence.WorkBug},
		{"feat!: x", evidence.WorkUnknown},
		{"chore: fix typo", evidence.WorkChore},
		{"feat: bump deps", evidence.WorkFeature},
		{"fix-up", evidence.WorkBug},
		{"unfixed", evidence.WorkUnknown},
		{"re-fix", evidence.WorkUnknown},
		{"fix2", evidence.WorkBug},
		{"fix_it", evidence.WorkBug},
		{"Bumped version", evidence.WorkUnknown},
		{"update deps", evidence.WorkUnknown},
		{"ci:fix", evidence.WorkChore},
		{"revert: fix: x", evidence.WorkBug},
		{"feat: add x\nfix: y", evidence.WorkFeature},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			is.New(t).Equal(evidence.DefaultClassifier.Commit(tt.title), tt.want)
		})
	}
}

func TestClassifyEntity(t *testing.T) {
	is := is.New(t)
	c := evidence.DefaultClassifier
	is.Equal(c.Entity([]string{"feature"}, "fix: resolve issue"), evidence.WorkFeature) // labels win
	is.Equal(c.Entity([]string{"priority:high"}, "feat: add new feature"), evidence.WorkFeature)
	is.Equal(c.Entity(nil, "Update configuration"), evidence.WorkUnknown)
	is.Equal(c.Entity([]string{"bug"}, "Feature request: dark mode"), evidence.WorkBug)
	is.Equal(c.Entity(nil, "Fix the login page"), evidence.WorkBug)
}

func TestCustomClassifier(t *testing.T) {
	is := is.New(t)
	c, err := evidence.NewClassifier(map[evidence.WorkType]evidence.Rules{
		evidence.WorkFeature: {Labels: []string{"new-stuff"}},
		evidence.WorkBug:     {Labels: []string{"broken"}},
	})
	is.NoErr(err)
	is.Equal(c.Entity([]string{"new-stuff"}, ""), evidence.WorkFeature)
	is.Equal(c.Entity([]string{"broken"}, ""), evidence.WorkBug)
	is.Equal(c.Entity([]string{"feature"}, ""), evidence.WorkUnknown) // rules replace the defaults
	is.Equal(c.Title("this fixes it"), evidence.WorkUnknown)

	_, err = evidence.NewClassifier(map[evidence.WorkType]evidence.Rules{
		evidence.WorkBug: {Prefixes: []string{"("}},
	})
	is.True(err != nil)
}

func TestCustomTitlePatterns(t *testing.T) {
	c, err := evidence.NewClassifier(map[evidence.WorkType]evidence.Rules{
		evidence.WorkFeature:  {Prefixes: []string{`(?i)^NEW:`}},
		evidence.WorkBug:      {General: []string{`(?m)^oops`}},
		evidence.WorkRefactor: {General: []string{`tidy(ing)? up`}},
		evidence.WorkChore:    {Prefixes: []string{`^(wip|draft)\b`}},
	})
	if err != nil {
		t.Fatal(err)
	}

	for title, want := range map[string]evidence.WorkType{
		"NEW: search":             evidence.WorkFeature,
		"renew: search":           evidence.WorkUnknown,
		"first line\noops, again": evidence.WorkBug,
		"whoops":                  evidence.WorkUnknown,
		"tidy up the parser":      evidence.WorkRefactor,
		"Tidying up":              evidence.WorkRefactor,
		"tidy the parser":         evidence.WorkUnknown,
		"WIP parser":              evidence.WorkChore,
		"draft: parser":           evidence.WorkChore,
		"a draft":                 evidence.WorkUnknown,
	} {
		t.Run(title, func(t *testing.T) {
			is.New(t).Equal(c.Title(title), want)
		})
	}
}

func TestMergeCommits(t *testing.T) {
	for msg, want := range map[string]bool{
		"Merge branch 'feature' into main":         true,
		"Merge pull request #123 from user/branch": true,
		"MERGE BRANCH 'feature'":                   true,
		"feat: add feature":                        false,
		"fix: merge conflict resolution":           false,
		"":                                         false,
	} {
		t.Run(msg, func(t *testing.T) {
			is.New(t).Equal(evidence.IsMergeCommit(msg), want)
		})
	}
}
