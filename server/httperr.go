package server

import (
	"context"
	"errors"
	"net/http"

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
