// Package etcdtarget lets the bench harness drive etcd, the system Chorus is
// compared with, and runs local etcd clusters to drive.
//
// Target implements bench.Target, bench.Deleter and bench.ErrorKinder with
// the etcd v3 client (go.etcd.io/etcd/client/v3): one client object over
// every configured endpoint, each operation bounded by
// Config.RequestTimeout. Gets are linearizable unless Config.Serializable
// asks for local, possibly stale reads. ErrorKind names an error by its gRPC
// code and etcd's message with addresses removed, so that one failure mode
// seen through several members counts as one kind; a request that ran out
// of time counts as "timeout".
//
// Cluster runs Members separate etcd processes on 127.0.0.1 (member i
// serves clients on BasePort+2i and peers on BasePort+2i+1; by default
// 23790-23795, clear of etcd's own 2379/2380 and of the ports Chorus's
// scripts use), with their data in one directory that Close removes. The
// members keep etcd's defaults, fsync included, so that writes are as
// durable as in a production etcd. StartCluster returns once every member
// reports the same leader and a linearizable read succeeds. Kill and
// Restart are for failover experiments; PIDs names the running members'
// processes, whose CPU and memory a comparison reports.
//
// The Cluster owns its processes: they outlive neither Close nor a failed
// StartCluster, and a cancelled context only stops waiting, it never kills
// members behind Close's back. On Linux each member also gets SIGKILL when
// the test or benchmark process dies (Pdeathsig). etcd comes from the
// system (the Debian package etcd-server, 3.4.23 on bookworm);
// scripts/install-etcd.sh installs it, and StartCluster runs that script
// when it finds no etcd binary, unless ClusterConfig.NoInstall is set, as
// every test sets it: tests never install system packages (.ci/run does).
// ErrNoBinary reports that etcd is still missing.
package etcdtarget
