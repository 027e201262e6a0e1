package etcdtarget

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// StartLocal starts a local cluster with cc and a Target on it with tc's
// settings, its endpoints replaced by the cluster's. Unless cc names a
// MemberLog, the members' own logs go to a temporary file, named on
// cc.Log and removed after a clean stop. stop closes the Target, then
// the cluster; on error StartLocal has already stopped what it started.
func StartLocal(ctx context.Context, cc ClusterConfig, tc Config) (c *Cluster, t *Target, stop func() error, err error) {
	closeLog := func() error { return nil }
	if cc.MemberLog == nil {
		logf, err := os.CreateTemp("", "chorus-etcd-*.log")
		if err != nil {
			return nil, nil, nil, fmt.Errorf("etcdtarget: %w", err)
		}
		if cc.Log != nil {
			fmt.Fprintf(cc.Log, "launch: etcd members' logs in %s (removed after a clean stop)\n", logf.Name())
		}
		cc.MemberLog = logf
		closeLog = func() error { return errors.Join(logf.Close(), os.Remove(logf.Name())) }
	}
	if c, err = StartCluster(ctx, cc); err != nil {
		return nil, nil, nil, errors.Join(err, closeLog())
	}
	stopCluster := func() error {
		if err := c.Close(); err != nil {
			return err // keep the log of a cluster that did not stop cleanly
		}
		return closeLog()
	}
	tc.Endpoints = c.Endpoints()
	if t, err = New(ctx, tc); err != nil {
		return nil, nil, nil, errors.Join(err, stopCluster())
	}
	return c, t, func() error { return errors.Join(t.Close(), stopCluster()) }, nil
}
