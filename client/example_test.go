package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"slices"
	"time"

	"github.com/chorusdb/chorus/client"
)

// Example reads a key, updates it with the read's context, and resolves
// siblings with a merge function. It needs a running cluster, so it has no
// Output line.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	cfg := client.DefaultConfig()
	cfg.Endpoints = []string{"127.0.0.1:9090", "127.0.0.1:9091"}
	c, err := client.New(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	key := []byte("cart:alice")
	res, err := c.Get(ctx, key, client.WithR(2))
	if err != nil {
		log.Fatal(err)
	}
	// Write based on the read: pass its causal context back.
	_, err = c.Put(ctx, key, []byte("apples"), client.WithCausal(res.Causal), client.WithW(2))
	switch {
	case errors.Is(err, client.ErrNotSent):
		log.Printf("write not sent, safe to retry: %v", err)
	case errors.Is(err, client.ErrTimeout):
		log.Printf("write timed out and may have been applied: %v", err)
	case errors.Is(err, client.ErrUnavailable):
		log.Printf("write quorum not met: %v", err)
	case err != nil:
		log.Fatal(err)
	}

	// Resolve concurrent writes: the union of the siblings' items.
	union := func(_ []byte, values [][]byte) ([]byte, error) {
		var items [][]byte
		for _, v := range values {
			items = append(items, bytes.Split(v, []byte(","))...)
		}
		slices.SortFunc(items, bytes.Compare)
		return bytes.Join(slices.CompactFunc(items, bytes.Equal), []byte(",")), nil
	}
	merged, err := c.GetMerged(ctx, key, union)
	if err != nil {
		log.Fatal(err)
	}
	// Value fails with ErrNotFound or ErrSiblings rather than returning nil.
	v, err := merged.Value()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", v)
}
