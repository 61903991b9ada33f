package catalogue

import (
	"strconv"
	"strings"
)

// Issue paths use dots between field names and brackets around sequence
// indexes, as in "projects[0].components[2].depends_on[1]".

func fieldPath(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

func indexPath(parent string, index int) string {
	return parent + "[" + strconv.Itoa(index) + "]"
}

// parentPath drops the last field name or index from path. The parent of
// a top-level field is the root path "".
func parentPath(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}
