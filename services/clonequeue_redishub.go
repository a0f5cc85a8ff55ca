package services

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/repoconnect/repoconnect/services/store"
	"github.com/repoconnect/repoconnect/services/store/redisstore"
)

// cloneHub is the one Redis subscription of a process: the cancel channel, handed to
// onCancel, and the events channel of every job watched here, fanned out to its watchers
// (subscribed for the first, unsubscribed after the last). A (re)confirmed subscription, as
// after a reconnection, makes the channel's watchers read the record again, so a message
// lost meanwhile is not missed.
type cloneHub struct {
	ps       *redis.PubSub
	cancelCh string
	onCancel func(jobKey string)
	log      *slog.Logger

	mu     sync.Mutex
	subs   map[string]map[*hubSub]struct{} // channel → its watchers
	closed bool
	done   chan struct{}  // closed by close: the watchers end
	subWG  sync.WaitGroup // one per hubSub until leave
	ended  chan struct{}  // closed when read returns
}

// hubSub is one watcher's mailbox: the latest message of its channel, or resync when the
// record must be read again; kick says that one of them changed.
type hubSub struct {
	channel string
	kick    chan struct{}
	mu      sync.Mutex
	payload string
	resync  bool
}

func newCloneHub(rdb redis.UniversalClient, cancelCh string, onCancel func(string), log *slog.Logger) *cloneHub {
	h := &cloneHub{cancelCh: cancelCh, onCancel: onCancel, log: log, subs: map[string]map[*hubSub]struct{}{},
		done: make(chan struct{}), ended: make(chan struct{})}
	// go-redis reconnects and subscribes again by itself when the connection fails.
	h.ps = rdb.Subscribe(context.Background(), cancelCh)
	go h.read(h.ps.ChannelWithSubscriptions())
	return h
}

// read dispatches what the subscription receives until it is closed.
func (h *cloneHub) read(ch <-chan any) {
	defer close(h.ended)
	for m := range ch {
		switch m := m.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				h.deliver(m.Channel, "", true)
			}
		case *redis.Message:
			if m.Channel == h.cancelCh {
				h.onCancel(m.Payload)
			} else {
				h.deliver(m.Channel, m.Payload, false)
			}
		}
	}
}

// deliver puts a message (or a resync) in the mailbox of every watcher of channel.
func (h *cloneHub) deliver(channel, payload string, resync bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs[channel] {
		s.mu.Lock()
		if resync {
			s.resync = true
		} else {
			s.payload = payload
		}
		s.mu.Unlock()
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// subscribe adds a watcher of channel; every one must leave. ErrClonesStopped once closed.
func (h *cloneHub) subscribe(ctx context.Context, channel string) (*hubSub, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClonesStopped
	}
	if len(h.subs[channel]) == 0 {
		if err := h.ps.Subscribe(ctx, channel); err != nil {
			return nil, redisstore.Unavailable(err)
		}
		h.subs[channel] = map[*hubSub]struct{}{}
	}
	s := &hubSub{channel: channel, kick: make(chan struct{}, 1)}
	h.subs[channel][s] = struct{}{}
	h.subWG.Add(1)
	return s, nil
}

// take empties s's mailbox.
func (s *hubSub) take() (payload string, resync bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	payload, resync = s.payload, s.resync
	s.payload, s.resync = "", false
	return payload, resync
}

// leave removes a watcher, unsubscribing its channel after the last.
func (h *cloneHub) leave(s *hubSub) {
	defer h.subWG.Done()
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs[s.channel], s)
	if len(h.subs[s.channel]) > 0 {
		return
	}
	delete(h.subs, s.channel)
	if !h.closed {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.ps.Unsubscribe(ctx, s.channel); err != nil {
			h.log.Debug("could not unsubscribe from a clone job's events", "err", err)
		}
	}
}

// close ends the watchers (each reads its record a last time), then the subscription.
func (h *cloneHub) close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	close(h.done)
	h.mu.Unlock()
	h.subWG.Wait()
	_ = h.ps.Close()
	<-h.ended
}

func (q *redisQueue) watch(ctx context.Context, tenant, id string) (<-chan CloneJob, error) {
	sub, err := q.hub.subscribe(ctx, q.jobKey(tenant, id))
	if err != nil && !errors.Is(err, ErrClonesStopped) {
		return nil, err
	}
	rec, rerr := q.read(ctx, tenant, id)
	out := make(chan CloneJob, 1)
	if rerr == nil {
		out <- rec.Job
	}
	if rerr != nil || sub == nil || rec.Job.finished() { // sub is nil once stopped: no more
		if sub != nil {
			q.hub.leave(sub)
		}
		if rerr != nil {
			return nil, rerr
		}
		close(out)
		return out, nil
	}
	go q.follow(ctx, sub, out, tenant, id, rec.Seq)
	return out, nil
}

// follow sends the job's newer snapshots to out until the terminal one, ctx's end or the
// hub's close; it reads the record on a resync, every watchResync and a last time at close.
func (q *redisQueue) follow(ctx context.Context, sub *hubSub, out chan CloneJob, tenant, id string, last int64) {
	defer q.hub.leave(sub)
	defer close(out)
	tick := time.NewTicker(watchResync)
	defer tick.Stop()
	reread := func(ctx context.Context) (*jobRecord, bool) {
		rec, err := q.read(ctx, tenant, id)
		if err != nil && !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
			q.s.log.Warn("could not read a watched clone job", "job", id, "err", err)
			return nil, true
		}
		return rec, err == nil
	}
	for {
		var rec *jobRecord
		ok := true
		select {
		case <-ctx.Done():
			return
		case <-q.hub.done:
			rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			rec, _ = reread(rctx)
			cancel()
			if rec != nil && rec.Seq > last {
				sendLatest(out, rec.Job)
			}
			return
		case <-tick.C:
			rec, ok = reread(ctx)
		case <-sub.kick:
			if payload, resync := sub.take(); resync || payload == "" {
				rec, ok = reread(ctx)
			} else {
				seq, raw, _ := strings.Cut(payload, " ")
				rec, _ = decodeRecord(seq, raw) // nil when malformed
			}
		}
		if !ok {
			return // gone: expired or deleted
		}
		if rec != nil && rec.Seq > last {
			last = rec.Seq
			sendLatest(out, rec.Job)
			if rec.Job.finished() {
				return
			}
		}
	}
}
