// Package sourceaddr chooses the local address a node dials its peers
// from: the specific IP it listens on, rather than whatever address the
// kernel's routing picks.
//
// Without it, a node listening on 127.0.0.3 reaches a peer on 127.0.0.2
// from 127.0.0.1 (the loopback route's preferred source), and a node on a
// multi-homed host may reach its peers from an interface they do not know
// it by. Rules that name a node by its address (a firewall, a partition
// made with iptables) then miss its outgoing traffic.
//
// # Guarantees
//
//   - For returns an IP only for a listen address whose host is a specific
//     IP literal; a wildcard (0.0.0.0, ::), a host name or a malformed
//     address gives nil, and the kernel chooses as before.
//   - Dial binds the local IP only where it can reach the destination: an
//     address of the same family, and a loopback source only towards a
//     loopback destination (and a non-loopback one only towards a
//     non-loopback one). Otherwise it dials as net.Dialer does with no
//     local address, so choosing a source never makes a peer unreachable
//     that was reachable before.
//   - The local port is always chosen by the kernel.
package sourceaddr
