// Package compose runs the fault tests of chorus nemesis against the
// docker-compose cluster of deploy/docker-compose.yml instead of node
// processes: its Cluster is a fault Target backed by Docker and its Net
// cuts the network with docker network disconnect.
//
// Start makes a throwaway CA, one certificate per node service (its
// service name, localhost and 127.0.0.1: peers dial the service name, the
// clients the published port on 127.0.0.1) and a client certificate,
// writes a compose override file that mounts them and sets the nodes'
// extra flags as CHORUS_<FLAG> variables (--fault-injection, N/R/W,
// --tombstone-grace), brings the node services up under a project of its
// own and waits until every node's /v1/status shows the whole ring with
// its partitions received. Close tears it all down.
//
// The faults map onto Docker as follows:
//
//   - Kill: docker kill -s KILL; Restart: docker start. Start turns the
//     compose file's restart policy off (docker update --restart=no), so
//     that Docker does not restart a killed node behind the test's back.
//   - Pause and Resume: docker pause and unpause (the cgroup freezer: the
//     node holds its sockets and answers nothing, as under SIGSTOP).
//   - Add: the spare service of the "scale" profile (chorus-5) joins. A
//     node ID that left the ring is retired for good, so each later Add
//     removes the spare's container and volume and starts it again under
//     a new node name (chorus-5-2, ...), on the same address.
//   - Net.Apply: the nodes on the minority side of a cut are disconnected
//     from the cluster's network; Heal connects them again with their
//     address and service name. A disconnected node is cut from every
//     other node, the rest of its own side included, and from the
//     clients too (the published ports go through that network). A cut
//     that needs more than that, a bridge (two halves that share one
//     node), cannot be expressed and fails with ErrUnsupported.
//
// Docker and docker-compose run through Config.Run, so the command lines
// are tested without Docker.
//
// # Guarantees
//
//   - Start returns a cluster whose nodes all serve the whole ring, or an
//     error; on error whatever it started is torn down. A missing image
//     is ErrNoImage, missing Docker or docker-compose ErrUnavailable, and
//     containers already in the project ErrProjectInUse: Start never
//     touches a project it did not create.
//   - Close saves the nodes' logs (Config.LogFile), unpauses paused
//     nodes, runs docker-compose down -v (containers, network, volumes)
//     and removes the certificates, on a context of its own, so that a
//     cancelled run is torn down too; it is idempotent.
//   - Docker commands run in a process group of their own, so that the
//     Ctrl-C that cancels a run does not also cut its teardown short.
//   - The methods of Cluster and Net are safe for concurrent use.
package compose
