package server

import (
	"context"
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
