package client

import (
	"context"

	"github.com/chorusdb/chorus/transport/pb"
)

// ClusterInfo is a node's view of the cluster. Its JSON form (the CLI's
// "chorus ring -o json") follows docs/api.md: snake_case keys.
type ClusterInfo struct {
	// Members lists every node the cluster knows, including nodes not (or
	// no longer) in the ring.
	Members []Member `json:"members"`
	// Partitions is Q, Replicas is N, RingSize the number of ring members.
	Partitions int `json:"partitions"`
	Replicas   int `json:"replicas"`
	RingSize   int `json:"ring_size"`
	// RingVersion changes whenever ring membership does.
	RingVersion uint64 `json:"ring_version"`
	// Owners are the primaries of each partition, best first, by member
	// ID; empty when the ring is.
	Owners [][]string `json:"owners,omitempty"`
}

// Member is one node as ClusterInfo describes it.
type Member struct {
	ID       string  `json:"id"`
	Zone     string  `json:"zone"`
	Weight   float64 `json:"weight"`
	GRPCAddr string  `json:"grpc_addr"`
	HTTPAddr string  `json:"http_addr"`
	// Status in the ring: joining, active, leaving or removed.
	Status string `json:"status"`
	// Alive is the failure detector's current view.
	Alive bool `json:"alive"`
	// Owned counts the partitions the node is the first primary of;
	// Primaries those it is any of the primaries of.
	Owned     int `json:"owned"`
	Primaries int `json:"primaries"`
}

// Cluster fetches the cluster's current view from the first node that
// answers, and updates the client's routing table with it.
func (c *Client) Cluster(ctx context.Context) (*ClusterInfo, error) {
	if c.isClosed() {
		return nil, ErrClosed
	}
	resp, err := c.refresh(ctx)
	if err != nil {
		return nil, err
	}
	t, _ := newTable(resp) // refresh checked it
	return clusterInfo(t), nil
}

func clusterInfo(t *table) *ClusterInfo {
	r := t.info
	ci := &ClusterInfo{
		Partitions:  int(r.GetPartitions()),
		Replicas:    int(r.GetReplicas()),
		RingSize:    int(r.GetRingSize()),
		RingVersion: r.GetRingVersion(),
	}
	for _, m := range r.GetMembers() {
		ci.Members = append(ci.Members, member(m))
	}
	for _, idx := range t.owners {
		ids := make([]string, len(idx))
		for j, i := range idx {
			ids[j] = ci.Members[i].ID
			ci.Members[i].Primaries++
			if j == 0 {
				ci.Members[i].Owned++
			}
		}
		ci.Owners = append(ci.Owners, ids)
	}
	return ci
}

func member(m *pb.Member) Member {
	return Member{
		ID:       m.GetId(),
		Zone:     m.GetZone(),
		Weight:   m.GetWeight(),
		GRPCAddr: m.GetGrpcAddr(),
		HTTPAddr: m.GetHttpAddr(),
		Status:   m.GetStatus(),
		Alive:    m.GetAlive(),
	}
}
