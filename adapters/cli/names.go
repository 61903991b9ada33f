package cli

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/ghillie/ghillie/silver"
)

// keyPattern is the catalogue's form of keys. Commands check it, and
// GitHub's forms of owners and repository names, before they open the
// database.
var keyPattern = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)

// checkNames checks the flags that are set: owner and name, and catalogue
// keys by flag name.
func checkNames(owner, name string, keys map[string]string) error {
	if owner != "" && !silver.ValidOwner(owner) {
		return usageError{fmt.Errorf("invalid --owner %q: use 1 to 39 letters, digits, hyphens "+
			"or underscores, not starting with a hyphen", owner)}
	}
	if name != "" && !silver.ValidRepositoryName(name) {
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

// checkEstateKey checks a required --estate-key. Cobra takes a flag given
// an empty value for a given flag, which the CLI counts as not given.
func checkEstateKey(key string) error {
	if key == "" {
		return usageError{errors.New("--estate-key must not be empty: " +
			"give the key of the estate, such as wildside")}
	}
	return checkNames("", "", map[string]string{"estate-key": key})
}
