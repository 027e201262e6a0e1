package pb

// The google.rpc.ErrorInfo a Chorus error status may carry, so that the
// node that made a call can tell what happened to it (see
// transport.AnsweredBy and transport.NotHandled). Hand-written, not
// generated.
const (
	// ErrorDomain is the ErrorInfo domain of Chorus.
	ErrorDomain = "chorus.v1"
	// ReasonAnswer marks an error a Chorus handler answered with: the
	// request reached the node and was handled. Its metadata "node" names
	// the node.
	ReasonAnswer = "ANSWER"
	// ReasonNotSent marks the failure of a call that never reached its
	// receiver (the in-memory network's lost request).
	ReasonNotSent = "NOT_SENT"
	// ReasonRefused marks a request its receiver refused before acting on
	// it (a node still starting): nothing was applied, and another node
	// may be asked.
	ReasonRefused = "REFUSED"
)
