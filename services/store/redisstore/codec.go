package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/repoconnect/repoconnect/services/store"
)

// listBatch bounds how many index members one ZRANGE of a List* reads (and so how many
// records one pipeline fetches).
const listBatch = 1000

// runScript runs script (EVALSHA, loading it on NOSCRIPT) and returns its integer reply.
func (s *Store) runScript(ctx context.Context, script *redis.Script, keys []string, args ...any) (int64, error) {
	n, err := script.Run(ctx, s.client, keys, args...).Int64()
	if err != nil {
		return 0, fmt.Errorf("redisstore: %w", err)
	}
	return n, nil
}

// encode returns the JSON of v.
func encode(v any) (string, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("redisstore: encode record: %w", err)
	}
	return string(raw), nil
}

// decode decodes the JSON record raw stored at key into a fresh *T.
func decode[T any](key, raw string) (*T, error) {
	v := new(T)
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		return nil, fmt.Errorf("redisstore: decode record %q: %w", key, err)
	}
	return v, nil
}

// getJSON returns a fresh *T decoded from field j of the hash at key; found is false when
// the key is absent.
func getJSON[T any](ctx context.Context, s *Store, key string) (v *T, found bool, err error) {
	raw, err := s.client.HGet(ctx, key, "j").Result()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("redisstore: %w", err)
	}
	v, err = decode[T](key, raw)
	return v, err == nil, err
}

// listJSON returns one page (store.Page) of the records of a tenant: the members of the
// sorted set index after the page's cursor, in byte order, each fetched from field j of the
// hash recKey(id) (the ids are the members' store.IDOfSortKey). Records removed between the
// ZRANGE and the fetch (or whose field k no longer equals the member) are skipped, and more members are read until the page is full or the
// index ends. next is the cursor of the last record when more members follow it, else "".
// A malformed cursor is store.ErrInvalid.
func listJSON[T any](ctx context.Context, s *Store, index string, recKey func(id string) string, page store.Page) (list []*T, next string, err error) {
	after, err := store.SortKeyOfCursor(page.After)
	if err != nil {
		return nil, "", err
	}
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	start := "-"
	if after != "" {
		start = "(" + after
	}
	list = []*T{}
	for {
		want := listBatch
		if page.Limit > 0 {
			want = min(want, page.Limit-len(list))
		}
		members, err := s.client.ZRangeArgs(ctx, redis.ZRangeArgs{
			Key: index, Start: start, Stop: "+", ByLex: true, Count: int64(want) + 1,
		}).Result()
		if err != nil {
			return nil, "", fmt.Errorf("redisstore: list: %w", err)
		}
		more := len(members) > want
		if more {
			members = members[:want]
		}
		if len(members) == 0 {
			return list, "", nil
		}
		cmds, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, m := range members {
				p.HMGet(ctx, recKey(store.IDOfSortKey(m)), "k", "j")
			}
			return nil
		})
		if err != nil {
			return nil, "", fmt.Errorf("redisstore: list: %w", err)
		}
		for i, cmd := range cmds {
			vals := cmd.(*redis.SliceCmd).Val()
			k, _ := vals[0].(string)
			raw, ok := vals[1].(string)
			if !ok || k != members[i] {
				continue // deleted (or deleted and created anew elsewhere in the order) since the ZRANGE
			}
			v, err := decode[T](members[i], raw)
			if err != nil {
				return nil, "", err
			}
			list = append(list, v)
		}
		last := members[len(members)-1]
		switch {
		case !more:
			return list, "", nil
		case page.Limit > 0 && len(list) >= page.Limit:
			return list, store.Cursor(last), nil
		}
		start = "(" + last
	}
}
