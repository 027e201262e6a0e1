package transport

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestDeliveryMarks(t *testing.T) {
	answer := Answer(status.New(codes.Unavailable, "replica: put quorum not met"), "n2")
	refused := Refuse(status.New(codes.Unavailable, "server: node starting"))
	dialing := status.Error(codes.Unavailable, "connection error: desc = \"transport: Error while dialing: connection refused\"")
	reset := status.Error(codes.Unavailable, "connection reset by peer")
	tests := []struct {
		name       string
		err        error
		answeredBy string
		notHandled bool
	}{
		{"a handler's answer", answer, "n2", false},
		{"a handler's answer, wrapped", fmt.Errorf("forward: %w", answer), "n2", false},
		{"refused unhandled", refused, "", true},
		{"failed while dialing", dialing, "", true},
		{"broken after sending", reset, "", false},
		{"a deadline", status.FromContextError(context.DeadlineExceeded).Err(), "", false},
		{"not a status", errors.New("boom"), "", false},
		{"nil", nil, "", false},
	}
	for _, tc := range tests {
		if got := AnsweredBy(tc.err); got != tc.answeredBy {
			t.Errorf("%s: AnsweredBy = %q, want %q", tc.name, got, tc.answeredBy)
		}
		if got := NotHandled(tc.err); got != tc.notHandled {
			t.Errorf("%s: NotHandled = %v, want %v", tc.name, got, tc.notHandled)
		}
	}
	if status.Code(answer) != codes.Unavailable || status.Convert(answer).Message() != "replica: put quorum not met" {
		t.Errorf("Answer changed the status: %v", answer)
	}
}
