package sourceaddr

import (
	"context"
	"net"
	"net/netip"
)

// For returns the IP of listenAddr (host:port) when its host is a
// specific IP address, and nil for a wildcard, a host name or anything it
// cannot parse.
func For(listenAddr string) net.IP {
	host, _, err := net.SplitHostPort(listenAddr)
	if err != nil {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.IsUnspecified() || ip.Zone() != "" {
		return nil
	}
	return net.IP(ip.Unmap().AsSlice())
}

// Dialer dials TCP from a chosen local IP where that IP can reach the
// destination (see the package's guarantees). The zero Dialer, or one with
// a nil Local, dials as net.Dialer does.
type Dialer struct {
	// Local is the source IP; nil lets the kernel choose.
	Local net.IP
	// Base carries the timeouts and keep-alive settings of every dial; its
	// LocalAddr is replaced.
	Base net.Dialer
}

// DialContext connects to addr (host:port) on network "tcp", "tcp4" or
// "tcp6".
func (d Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	nd := d.Base
	nd.LocalAddr = nil
	if src := d.source(addr); src != nil {
		nd.LocalAddr = &net.TCPAddr{IP: src}
	}
	return nd.DialContext(ctx, network, addr)
}

// source returns Local when it suits the destination addr, else nil.
func (d Dialer) source(addr string) net.IP {
	if d.Local == nil {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil
	}
	dst, err := netip.ParseAddr(host)
	if err != nil {
		// A host name: which of its addresses is dialed is known only
		// once resolved, so the kernel chooses.
		return nil
	}
	src, ok := netip.AddrFromSlice(d.Local)
	if !ok {
		return nil
	}
	src, dst = src.Unmap(), dst.Unmap()
	if src.Is4() != dst.Is4() || src.IsLoopback() != dst.IsLoopback() {
		return nil
	}
	return d.Local
}
