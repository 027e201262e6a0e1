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
	// Write based on the read: pass its context back.
	_, err = c.Put(ctx, key, []byte("apples"), client.WithContext(res.Context), client.WithW(2))
	if errors.Is(err, client.ErrUnavailable) {
		log.Printf("write quorum not met: %v", err)
	} else if err != nil {
		log.Fatal(err)
	}

	// Resolve concurrent writes: the union of the siblings' items.
	union := func(values [][]byte) []byte {
		var items [][]byte
		for _, v := range values {
			items = append(items, bytes.Split(v, []byte(","))...)
		}
		slices.SortFunc(items, bytes.Compare)
		return bytes.Join(slices.CompactFunc(items, bytes.Equal), []byte(","))
	}
	merged, err := c.GetMerged(ctx, key, union)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", merged.Value())
}
