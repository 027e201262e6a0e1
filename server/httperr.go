package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// httpStatus maps a backend error, a gRPC status error, to the HTTP status
// code and the message of the JSON error body.
//
// Canceled maps to 503, not nginx's non-standard 499: a client that went
// away never reads the answer, and a proxy in front of us may cancel for
// its own reasons, in which case "try again" is the right reading.
func httpStatus(err error) (int, string) {
	st, ok := status.FromError(err)
	if !ok {
		// Plain context errors reach us when the backend gives up without
		// wrapping them; anything else is a bug on the backend side.
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return http.StatusServiceUnavailable, err.Error()
		}
		return http.StatusInternalServerError, err.Error()
	}
	return codeToHTTP(st.Code()), st.Message()
}

func codeToHTTP(c codes.Code) int {
	switch c {
	case codes.OK:
		return http.StatusOK
	case codes.InvalidArgument:
		return http.StatusBadRequest
	case codes.FailedPrecondition:
		return http.StatusConflict
	case codes.ResourceExhausted:
		return http.StatusRequestEntityTooLarge
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
		return http.StatusServiceUnavailable
	case codes.NotFound:
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

// maxErrorLen bounds the message of an error answer. Messages quote
// request input through quoteInput, but a backend message may carry more
// (a gRPC client's context, the errors of several replicas).
const maxErrorLen = 1024

func methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, "method "+quoteInput(r.Method)+" not allowed; allowed: "+allow)
	}
}

// errorBody is the JSON body of every error answer.
type errorBody struct {
	Error string `json:"error"`
}

// writeError is the one way the HTTP API answers an error: a JSON body
// with the message, at most maxErrorLen bytes of it.
func writeError(w http.ResponseWriter, code int, msg string) {
	if len(msg) > maxErrorLen {
		cut := maxErrorLen
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = fmt.Sprintf("%s… (%d bytes cut)", msg[:cut], len(msg)-cut)
	}
	writeJSON(w, code, errorBody{Error: msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		b, _ = json.Marshal(errorBody{Error: "encode response: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// maxEcho bounds how much of a request's own input an error message
// quotes: enough to recognise a mistyped parameter, never a megabyte of
// garbage sent back.
const maxEcho = 128

// quoteInput quotes s, a piece of the request, for an error message: at
// most maxEcho bytes of it, with a note of how much was cut.
func quoteInput(s string) string {
	if len(s) <= maxEcho {
		return strconv.Quote(s)
	}
	cut := maxEcho
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes)", strconv.Quote(s[:cut]), len(s))
}
