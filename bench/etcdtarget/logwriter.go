package etcdtarget

import (
	"bytes"
	"io"
	"sync"
)

// syncWriter serialises the writes of several members (and the cluster's
// own lines) to ClusterConfig.Log, which need not be safe for concurrent
// use.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// prefixWriter writes whole lines, each prefixed with prefix, to w, and
// keeps a trailing partial line until the next Write or flush. It serves
// one process at a time, whose stdout and stderr are the same
// prefixWriter (so exec writes from one goroutine); it needs no lock.
type prefixWriter struct {
	prefix string
	w      io.Writer
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			p.buf = append(p.buf, b...)
			break
		}
		line := append(append([]byte(p.prefix), p.buf...), b[:i+1]...)
		p.buf = p.buf[:0]
		b = b[i+1:]
		if _, err := p.w.Write(line); err != nil {
			return n - len(b), err
		}
	}
	return n, nil
}

// flush writes a trailing partial line, if any, once the process exited.
func (p *prefixWriter) flush() {
	if len(p.buf) > 0 {
		_, _ = p.Write([]byte("\n"))
	}
}
