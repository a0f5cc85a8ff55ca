package redisstore

import (
	"context"
	"strconv"
	"testing"

	"github.com/repoconnect/repoconnect/services/store"
	"github.com/repoconnect/repoconnect/services/store/redisstore/redistest"
)

// openBench returns a Store on a server of its own with the recommended durability
// (appendonly yes, appendfsync always), so that a create is as durable as bolt's.
func openBench(b *testing.B) *Store {
	b.Helper()
	srv := redistest.Start(b, redistest.Options{AppendOnly: true, AppendFsync: "always"})
	s, err := New(srv.Client(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func benchConn(i int) *store.Connection {
	id := strconv.Itoa(i)
	return &store.Connection{
		ID: "c" + id, TenantID: "bench", Name: "conn-" + id, Type: "server-pat",
		ServerURL: "https://forge.example/", SealedCredential: make([]byte, 96),
	}
}

// fillBench creates n connections.
func fillBench(b *testing.B, s *Store, n int) {
	b.Helper()
	ctx := context.Background()
	for i := range n {
		if err := s.CreateConnection(ctx, benchConn(i)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateConnection measures one durable (AOF, fsync always) create per iteration.
func BenchmarkCreateConnection(b *testing.B) {
	s := openBench(b)
	defer s.Close()
	ctx := context.Background()
	i := 0
	for b.Loop() {
		if err := s.CreateConnection(ctx, benchConn(i)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkGetConnection measures reads from a store holding 1000 connections.
func BenchmarkGetConnection(b *testing.B) {
	s := openBench(b)
	defer s.Close()
	ctx := context.Background()
	const n = 1000
	fillBench(b, s, n)
	i := 0
	for b.Loop() {
		if _, err := s.GetConnection(ctx, "bench", "c"+strconv.Itoa(i%n)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkListConnectionsPage measures listing one page of 100 of 1000 connections,
// walking the pages in turn.
func BenchmarkListConnectionsPage(b *testing.B) {
	s := openBench(b)
	defer s.Close()
	ctx := context.Background()
	fillBench(b, s, 1000)
	after := ""
	for b.Loop() {
		list, next, err := s.ListConnections(ctx, "bench", store.Page{After: after, Limit: 100})
		if err != nil {
			b.Fatal(err)
		}
		if len(list) != 100 {
			b.Fatalf("page of %d", len(list))
		}
		after = next
	}
}
