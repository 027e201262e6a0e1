package main

import (
	"context"
	"errors"

	"github.com/chorusdb/chorus/bench/etcdtarget"
	"github.com/chorusdb/chorus/bench/procs"
	"github.com/chorusdb/chorus/client"
)

// portOffsetUsage documents --port-offset, shared by the commands that
// start local clusters.
const portOffsetUsage = "add this to every port of the clusters started here (Chorus from 28080, etcd from 23790), to run beside something that holds them"

// startChorus starts a local 3-node cluster of node processes (bin, or
// this executable) on its default ports plus portOffset, and a client of
// it; stop closes both.
func startChorus(ctx context.Context, e *env, bin string, portOffset int, edit ...func(*procs.Config)) (*procs.Cluster, *client.Client, func() error, error) {
	cfg := procs.DefaultConfig()
	cfg.Bin, cfg.Log = bin, e.stderr
	cfg.HTTPBase += portOffset
	cfg.GRPCBase += portOffset
	cfg.PeerBase += portOffset
	cfg.GossipBase += portOffset
	for _, f := range edit {
		f(&cfg)
	}
	pc, err := procs.Start(ctx, cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	c, err := pc.Dial(ctx)
	if err != nil {
		return nil, nil, nil, errors.Join(err, pc.Close())
	}
	return pc, c, func() error { return errors.Join(c.Close(), pc.Close()) }, nil
}

// startEtcd starts a local 3-member etcd on its default ports plus
// portOffset and a Target on it (serializable reads if asked); stop closes
// both.
func startEtcd(ctx context.Context, e *env, serializable bool, portOffset int) (*etcdtarget.Cluster, *etcdtarget.Target, func() error, error) {
	cc, tc := etcdtarget.DefaultClusterConfig(), etcdtarget.DefaultConfig()
	cc.Log, tc.Serializable = e.stderr, serializable
	cc.BasePort += portOffset
	return etcdtarget.StartLocal(ctx, cc, tc)
}
