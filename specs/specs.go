// Package specs embeds the interface documents that Ghillie publishes,
// so the binary serves the same text that its tests validate against.
package specs

import _ "embed"

// OpenAPI is the OpenAPI 3.0 document of the HTTP API, in YAML.
//
//go:embed openapi.yaml
var OpenAPI []byte
