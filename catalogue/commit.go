package catalogue

import (
	"fmt"
	"regexp"
)

// commitPattern is the form of a git commit id: SHA-1 or SHA-256 in hex,
// in full or abbreviated to at least 7 digits.
var commitPattern = regexp.MustCompile(`^[0-9a-fA-F]{7,64}$`)

// CheckCommitSHA returns an error naming sha unless it is empty or a git
// commit id in hex, 7 to 64 digits, which an import records.
func CheckCommitSHA(sha string) error {
	if sha == "" || commitPattern.MatchString(sha) {
		return nil
	}
	if len(sha) > 80 {
		sha = sha[:80] + "..."
	}
	return fmt.Errorf("invalid commit %q: use the catalogue commit's id in hex, 7 to 64 digits, "+
		"or an empty value to import without recording a commit", sha)
}
