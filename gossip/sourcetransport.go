package gossip

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/chorusdb/chorus/sourceaddr"
)

// sourceTransport is memberlist's NetTransport whose TCP streams (push
// and pull, large messages, probes over TCP) are dialed from the node's
// own bind address. Its UDP packets already leave from there: they are
// sent on the socket bound to it.
type sourceTransport struct {
	*memberlist.NetTransport
	dial sourceaddr.Dialer
}

var _ memberlist.NodeAwareTransport = (*sourceTransport)(nil)

// DialTimeout implements memberlist.Transport.
func (t *sourceTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

// DialAddressTimeout implements memberlist.NodeAwareTransport.
func (t *sourceTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	d := t.dial
	d.Base.Timeout = timeout
	return d.DialContext(context.Background(), "tcp", a.Addr)
}

// newSourceTransport binds memberlist's transport on c.BindAddr:BindPort
// and, when the port was 0, sets c's ports to the one bound, as memberlist
// does for the transport it makes itself (and with its retries: TCP and
// UDP must get the same free port).
func newSourceTransport(c *memberlist.Config, local net.IP) (*sourceTransport, error) {
	nc := &memberlist.NetTransportConfig{
		BindAddrs:    []string{c.BindAddr},
		BindPort:     c.BindPort,
		Logger:       c.Logger,
		MetricLabels: c.MetricLabels,
	}
	attempts := 1
	if c.BindPort == 0 {
		attempts = 10
	}
	var err error
	for range attempts {
		var nt *memberlist.NetTransport
		if nt, err = memberlist.NewNetTransport(nc); err == nil {
			if c.BindPort == 0 {
				c.BindPort = nt.GetAutoBindPort()
				c.AdvertisePort = c.BindPort
			}
			return &sourceTransport{NetTransport: nt, dial: sourceaddr.Dialer{Local: local}}, nil
		}
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, fmt.Errorf("gossip: listen on %s: %w", net.JoinHostPort(c.BindAddr, fmt.Sprint(c.BindPort)), err)
}
