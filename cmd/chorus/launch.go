package main

import (
	"context"
	"errors"

	"github.com/chorusdb/chorus/bench/etcdtarget"
	"github.com/chorusdb/chorus/bench/procs"
	"github.com/chorusdb/chorus/client"
)

// startChorus starts a local 3-node cluster of node processes (bin, or
// this executable) and a client of it; stop closes both.
func startChorus(ctx context.Context, e *env, bin string, edit ...func(*procs.Config)) (*procs.Cluster, *client.Client, func() error, error) {
	cfg := procs.DefaultConfig()
	cfg.Bin, cfg.Log = bin, e.stderr
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

// startEtcd starts a local 3-member etcd and a Target on it
// (serializable reads if asked); stop closes both.
func startEtcd(ctx context.Context, e *env, serializable bool) (*etcdtarget.Cluster, *etcdtarget.Target, func() error, error) {
	cc, tc := etcdtarget.DefaultClusterConfig(), etcdtarget.DefaultConfig()
	cc.Log, tc.Serializable = e.stderr, serializable
	return etcdtarget.StartLocal(ctx, cc, tc)
}
