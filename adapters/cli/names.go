package cli

import (
	"fmt"
	"regexp"
)

// The forms of the names that flags take, which commands check before
// they open the database. They are GitHub's forms of owners and
// repository names, and the catalogue's form of keys.
var (
	ownerPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]{0,38}$`)
	namePattern  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
	keyPattern   = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)
)

// checkNames checks the flags that are set: owner and name, and catalogue
// keys by flag name.
func checkNames(owner, name string, keys map[string]string) error {
	if owner != "" && !ownerPattern.MatchString(owner) {
		return usageError{fmt.Errorf("invalid --owner %q: use 1 to 39 letters, digits, hyphens "+
			"or underscores, not starting with a hyphen", owner)}
	}
	if name != "" && (!namePattern.MatchString(name) || name == "." || name == "..") {
		return usageError{fmt.Errorf("invalid --name %q: use 1 to 100 letters, digits, '.', '-' "+
			"or '_', other than '.' and '..'", name)}
	}
	for flag, key := range keys {
		if key != "" && !keyPattern.MatchString(key) {
			return usageError{fmt.Errorf("invalid --%s %q: use 1 to 63 lowercase letters, digits "+
				"and hyphens, starting and ending with a letter or digit", flag, key)}
		}
	}
	return nil
}
