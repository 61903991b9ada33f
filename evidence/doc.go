// Package evidence builds the evidence bundles that status reports are
// written from. A repository's bundle holds what happened in a reporting
// window and has not been reported yet. A project's bundle holds its
// components, their latest repository reports and the dependencies
// between them, and an estate's the latest report of each project. A
// bundle is plain data and encodes to the same JSON for the same
// database contents.
package evidence
