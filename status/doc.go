// Package status turns evidence bundles into status reports. A Model
// reads the evidence of a repository, a project or an estate (see
// package evidence) and returns a Result: a status, a summary and short
// lists of highlights, risks and next steps, together with the Metrics
// of that call. Result.MachineSummary gives the form that gold reports
// store.
//
// Two models implement the Model port. Mock applies fixed rules to the
// evidence and does no I/O, so its output is the same for the same
// bundle. OpenAI requests the report from a chat completions endpoint of
// the OpenAI API, or of a server compatible with it, and validates the
// model output against a strict JSON Schema. FromEnv selects and
// configures one from GHILLIE_STATUS_MODEL_BACKEND and the
// GHILLIE_OPENAI_* variables.
//
// Prompts treat evidence as data. Every string that comes from GitHub or
// from an earlier report sits inside one JSON block between <evidence>
// and </evidence> lines, with "<" escaped so that no string can close
// the block, control characters removed and each string capped. A
// prompt stays inside a token budget by leaving out the least important
// items and stating how many it left out.
package status
