package transport

import (
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chorusdb/chorus/transport/pb"
)

// Answer returns st as an error that says node's handler produced it, so
// that a caller can tell the node's own answer from a failure of the
// network (see AnsweredBy). Servers wrap every handler error with it.
func Answer(st *status.Status, node string) error {
	withInfo, err := st.WithDetails(&errdetails.ErrorInfo{Reason: pb.ReasonAnswer, Domain: pb.ErrorDomain,
		Metadata: map[string]string{"node": node}})
	if err != nil {
		return st.Err()
	}
	return withInfo.Err()
}

// AnsweredBy returns the node whose handler answered with err (see
// Answer), or "" when err is not such an answer: a failure of the call
// itself, which may or may not have reached the node.
func AnsweredBy(err error) string {
	if info := errorInfo(err); info != nil && info.GetReason() == pb.ReasonAnswer {
		return info.GetMetadata()["node"]
	}
	return ""
}

// Refuse returns st as an error that says the request was refused before
// it was acted on, so that the caller may ask another node (see
// NotHandled).
func Refuse(st *status.Status) error {
	withInfo, err := st.WithDetails(&errdetails.ErrorInfo{Reason: pb.ReasonRefused, Domain: pb.ErrorDomain})
	if err != nil {
		return st.Err()
	}
	return withInfo.Err()
}

// NotHandled reports whether err is the failure of a call that certainly
// was not acted on: gRPC failed it while dialing (no connection to send
// on), the in-memory network lost the request on its way, or the
// receiver refused it unhandled (Refuse).
func NotHandled(err error) bool {
	if info := errorInfo(err); info != nil && (info.GetReason() == pb.ReasonNotSent || info.GetReason() == pb.ReasonRefused) {
		return true
	}
	st, ok := status.FromError(err)
	return ok && st.Code() == codes.Unavailable && strings.Contains(st.Message(), "Error while dialing")
}

func errorInfo(err error) *errdetails.ErrorInfo {
	st, ok := status.FromError(err)
	if !ok {
		return nil
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == pb.ErrorDomain {
			return info
		}
	}
	return nil
}
