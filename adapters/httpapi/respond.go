package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/ghillie/ghillie/store"
)

// apiError is the JSON body of every error response. Field names the
// path or query parameter of an input error.
type apiError struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	Field       string `json:"field,omitempty"`
}

// invalidInput returns the 400 error of a bad parameter.
func invalidInput(field, description string) apiError {
	return apiError{Title: "Invalid input", Description: description, Field: field}
}

func writeJSON(w http.ResponseWriter, code int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(body)
}

func writeError(w http.ResponseWriter, code int, e apiError) {
	writeJSON(w, code, e)
}

func writeMarkdown(w http.ResponseWriter, text string) {
	w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(text))
}

// fail writes the response to a request whose SDK call failed with an
// error the caller cannot act on: 503 for a timeout, else 500. The error
// goes to the log and never to the client.
func (a *api) fail(w http.ResponseWriter, r *http.Request, event string, err error,
	attrs ...any) {
	ctx := r.Context()
	attrs = append(attrs, "err", err, "method", r.Method, "path", r.URL.Path,
		"request_id", requestID(ctx))
	a.log.ErrorContext(ctx, event, attrs...)

	if errors.Is(err, context.DeadlineExceeded) {
		writeError(w, http.StatusServiceUnavailable, apiError{Title: "Timed out",
			Description: "The request took longer than the server allows; try again later, " +
				"and quote request id " + requestID(ctx) + " if it keeps failing."})
		return
	}
	if errors.Is(err, store.ErrConflict) {
		w.Header().Set("Retry-After", "30")
		writeError(w, http.StatusServiceUnavailable, apiError{Title: "Database busy",
			Description: "Another writer held the database for too long; try again later, " +
				"and quote request id " + requestID(ctx) + " if it keeps failing."})
		return
	}
	writeError(w, http.StatusInternalServerError, apiError{Title: "Internal server error",
		Description: "The request failed; the server log has the details under request id " +
			requestID(ctx) + "."})
}

// requireToken rejects a request without the bearer token with 401. The
// comparison takes the same time for every token of a given length, and
// hashing first hides the length too.
func (a *api) requireToken(next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(a.cfg.APIToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.cfg.APIToken == "" {
			next.ServeHTTP(w, r)
			return
		}

		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		got := sha256.Sum256([]byte(strings.TrimSpace(token)))
		valid := subtle.ConstantTimeCompare(got[:], want[:]) == 1
		if !strings.EqualFold(scheme, "Bearer") || !valid {
			a.log.WarnContext(r.Context(), "http.auth.rejected", "method", r.Method,
				"path", r.URL.Path, "remote_addr", r.RemoteAddr,
				"request_id", requestID(r.Context()))
			w.Header().Set("WWW-Authenticate", `Bearer realm="ghillie"`)
			writeError(w, http.StatusUnauthorized, apiError{Title: "Unauthorized",
				Description: "This route needs the header 'Authorization: Bearer <token>' " +
					"with the server's GHILLIE_API_TOKEN."})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// prefersMarkdown reports whether the Accept header gives text/markdown a
// higher quality than application/json. Without an Accept header, or on a
// tie, the response is JSON.
func prefersMarkdown(accept string) bool {
	if accept == "" {
		return false
	}
	return quality(accept, "text/markdown") > quality(accept, "application/json")
}

// quality returns the q value that the Accept header gives the media type,
// from its most specific matching range, or 0 when none matches.
func quality(accept, mediaType string) float64 {
	typ, _, _ := strings.Cut(mediaType, "/")
	best, bestRank := 0.0, -1
	for _, part := range strings.Split(accept, ",") {
		rangeType, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		rank := -1
		switch {
		case rangeType == mediaType:
			rank = 2
		case rangeType == typ+"/*":
			rank = 1
		case rangeType == "*/*":
			rank = 0
		}
		if rank <= bestRank {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if parsed, err := strconv.ParseFloat(v, 64); err == nil {
				q = parsed
			}
		}
		best, bestRank = q, rank
	}
	return best
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
