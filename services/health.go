package services

import (
	"context"
	"errors"
	"fmt"
)

// ErrClonesNotRunning is CheckClones' error when the clone queue is not taking jobs: it was
// never opened or StopClones stopped it (a shutdown under way).
var ErrClonesNotRunning = errors.New("the clone queue is not running (not opened, or stopped for a shutdown)")

// CheckClones reports whether this instance's clone queue takes jobs: nil when it does,
// ErrClonesNotRunning once StopClones (or Close) stopped it. It reads process state only:
// no store call. ctx is unused and there for the readiness checks' shape.
func (s *Service) CheckClones(ctx context.Context) error {
	switch q := s.clones.queue.(type) {
	case nil:
		return ErrClonesNotRunning
	case *memoryQueue:
		q.mu.Lock()
		defer q.mu.Unlock()
		if q.closed {
			return ErrClonesNotRunning
		}
	case *redisQueue:
		q.mu.Lock()
		defer q.mu.Unlock()
		if q.stopping || q.srv == nil {
			return ErrClonesNotRunning
		}
	}
	return nil
}

// CheckSealingKeys reports whether the sealing keys are loaded and work: it seals a probe
// under the current key and opens it again, in memory (no store call, no key material in the
// error). The error says which step failed.
func (s *Service) CheckSealingKeys(ctx context.Context) error {
	if s.keyring == nil {
		return errors.New("no sealing keys are loaded")
	}
	sealed, err := s.keyring.SealProbe()
	if err != nil {
		return fmt.Errorf("the current sealing key cannot seal: %w", err)
	}
	if _, err := s.keyring.CheckProbe(sealed); err != nil {
		return fmt.Errorf("the sealing keys cannot open what they sealed: %w", err)
	}
	return nil
}
