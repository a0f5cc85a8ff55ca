package bolt

import (
	"context"
	"strconv"
	"testing"

	"github.com/repoconnect/repoconnect/services/store"
)

func benchConn(i int) *store.Connection {
	id := strconv.Itoa(i)
	return &store.Connection{
		ID: "c" + id, TenantID: "bench", Name: "conn-" + id, Type: "server-pat",
		ServerURL: "https://forge.example/", SealedCredential: make([]byte, 96),
	}
}

// BenchmarkCreateConnection measures one durable (fsynced) create per iteration.
func BenchmarkCreateConnection(b *testing.B) {
	s := openTemp(b)
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
	s := openTemp(b)
	defer s.Close()
	ctx := context.Background()
	const n = 1000
	for i := range n {
		if err := s.CreateConnection(ctx, benchConn(i)); err != nil {
			b.Fatal(err)
		}
	}
	i := 0
	for b.Loop() {
		if _, err := s.GetConnection(ctx, "bench", "c"+strconv.Itoa(i%n)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkListConnectionsPage measures one page of 100 from a tenant of 1000 connections.
func BenchmarkListConnectionsPage(b *testing.B) {
	s := openTemp(b)
	defer s.Close()
	ctx := context.Background()
	for i := range 1000 {
		if err := s.CreateConnection(ctx, benchConn(i)); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		list, _, err := s.ListConnections(ctx, "bench", store.Page{Limit: 100})
		if err != nil || len(list) != 100 {
			b.Fatal(len(list), err)
		}
	}
}
