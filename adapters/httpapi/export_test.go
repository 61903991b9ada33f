package httpapi

// PrefersMarkdown exposes prefersMarkdown to the tests.
var PrefersMarkdown = prefersMarkdown
