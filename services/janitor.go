package services

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// DefaultCloneRetention is the retention `repoconnect serve` gives clone directories unless
// --clone-retention says otherwise.
const DefaultCloneRetention = 24 * time.Hour

// janitorInterval is the time between two sweeps of the janitor.
const janitorInterval = 5 * time.Minute

// janitor removes old clone directories in the background: a sweep at start, then one every
// janitorInterval, until stopped.
type janitor struct {
	sweeping sync.Mutex         // one sweep at a time
	cancel   context.CancelFunc // stops the goroutine; nil when none was started
	done     chan struct{}      // closed when the goroutine ends
	first    chan struct{}      // closed after the sweep at start
}

// startJanitor starts the janitor when there is a work directory and a retention.
func (s *Service) startJanitor() {
	if s.opts.WorkDir == "" || s.opts.CloneRetention <= 0 {
		return
	}
	j := &s.clones.janitor
	ctx, cancel := context.WithCancel(context.Background())
	j.cancel, j.done, j.first = cancel, make(chan struct{}), make(chan struct{})
	go func() {
		defer close(j.done)
		tick := time.NewTicker(janitorInterval)
		defer tick.Stop()
		for first := true; ; first = false {
			n, err := s.SweepClones(ctx)
			if err != nil && ctx.Err() == nil {
				s.log.Warn("could not remove every old clone directory", "removed", n, "err", err)
			} else if n > 0 {
				s.log.Info("removed old clone directories", "removed", n, "retention", s.opts.CloneRetention.String())
			}
			if first {
				close(j.first)
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
}

// stopJanitor stops the janitor and waits for it; calling it again only waits.
func (s *Service) stopJanitor() {
	if j := &s.clones.janitor; j.cancel != nil {
		j.cancel()
		<-j.done
	}
}

// SweepClones removes the clone directories ({work}/{tenant}/{profile}/{clone}) whose last
// modification is Options.CloneRetention or longer ago by the service clock, except those of
// a build profile with a clone running in this process. With a retention of 0 or no work
// directory it removes nothing. The janitor calls it at start and every 5 minutes; a call
// waits for a sweep under way. It returns how many directories it removed. Errors: ctx's when
// it ends the sweep early, else the first failure to read or remove a directory (the sweep
// goes on past it); a missing work directory is no error.
func (s *Service) SweepClones(ctx context.Context) (removed int, err error) {
	retention := s.opts.CloneRetention
	if s.opts.WorkDir == "" || retention <= 0 {
		return 0, nil
	}
	s.clones.janitor.sweeping.Lock()
	defer s.clones.janitor.sweeping.Unlock()
	now := s.now()
	keep := func(e error) {
		if err == nil && e != nil {
			err = e
		}
	}
	tenants, rerr := subdirs(s.opts.WorkDir)
	if !errors.Is(rerr, os.ErrNotExist) {
		keep(rerr)
	}
	for _, t := range tenants {
		profiles, rerr := subdirs(t)
		keep(rerr)
		for _, root := range profiles {
			if s.clones.busy(root) {
				continue // a clone of this profile is being written
			}
			clones, rerr := subdirs(root)
			keep(rerr)
			for _, dir := range clones {
				if ctx.Err() != nil {
					return removed, ctx.Err()
				}
				fi, serr := os.Lstat(dir)
				if serr != nil || now.Sub(fi.ModTime()) < retention {
					keep(serr)
					continue
				}
				if rerr := os.RemoveAll(dir); rerr != nil {
					keep(rerr)
					continue
				}
				removed++
			}
		}
	}
	return removed, err
}

// subdirs lists the directories in dir (not following symbolic links), as paths.
func subdirs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out, err
}
