package services

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
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
// a build profile with a clone running in this process and reused workspaces
// ({work}/{tenant}/{profile}/workspace, removed with their profile). With a retention of 0 or no work
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
		if filepath.Base(t) == markerDir {
			continue
		}
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
				if filepath.Base(dir) == workspaceDirName {
					continue // a reused workspace: removed with its profile, never by age
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

// markerDir is the directory below WorkDir holding a marker per clone running (tenant
// directories never start with a dot: safeSegment).
const markerDir = ".running"

// cloneMarker is what a marker file says of a running clone: its directory (relative to
// WorkDir) and the instance that runs it.
type cloneMarker struct {
	Dir      string `json:"dir"`
	Instance string `json:"instance"`
	PID      int    `json:"pid"`
	Host     string `json:"host"`
}

// markClone writes the marker of a clone into dir (below WorkDir) and returns the function
// that removes it once the clone has ended, whatever its outcome: a marker left behind is a
// clone its process did not finish (killed with it), which removeStaleClones removes at the
// next start. The marker stays open and locked (flock) while the clone runs, so that an
// instance starting on the same directory knows it for a live clone whatever the process id
// and host name say (two containers sharing a volume may both run as PID 1 on one host name).
func (s *Service) markClone(dir string) (func(), error) {
	rel, err := filepath.Rel(s.opts.WorkDir, dir)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	b, err := json.Marshal(cloneMarker{Dir: filepath.ToSlash(rel), Instance: s.clones.instance, PID: os.Getpid(), Host: host})
	if err != nil {
		return nil, err
	}
	mdir := filepath.Join(s.opts.WorkDir, markerDir)
	if err := os.MkdirAll(mdir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(mdir, newID()+".json")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	// Locked before it is written: another instance starting meanwhile sees a live clone,
	// not a marker cut short by a crash.
	if err = lockMarker(f); err == nil {
		_, err = f.Write(b)
	}
	if err != nil {
		f.Close()
		_ = os.Remove(path)
		return nil, err
	}
	return func() {
		_ = os.Remove(path)
		_ = f.Close()
	}, nil
}

// removeStaleClones removes, at start, the clone directories whose marker is not of a clone
// of a live process: a marker locked by a running clone (markClone) is always left alone;
// of the others, a marker of another instance of this host whose process is gone, or of this
// very process id under an earlier instance (a container restarted). Markers of another
// host are left alone (a data directory shared between hosts), to the retention. Failures
// are logged.
func (s *Service) removeStaleClones() {
	if s.opts.WorkDir == "" {
		return
	}
	mdir := filepath.Join(s.opts.WorkDir, markerDir)
	entries, err := os.ReadDir(mdir)
	if err != nil {
		return // none yet
	}
	host, _ := os.Hostname()
	removed := 0
	for _, e := range entries {
		path := filepath.Join(mdir, e.Name())
		if markerHeld(path) {
			continue // a clone running in some process of this machine
		}
		b, err := os.ReadFile(path)
		var m cloneMarker
		if err != nil || json.Unmarshal(b, &m) != nil {
			_ = os.Remove(path) // a marker cut short by the crash: its clone is unknown
			continue
		}
		if m.Instance == s.clones.instance || m.Host != host || (m.PID != os.Getpid() && processAlive(m.PID)) {
			continue
		}
		// Only a clone directory: {tenant}/{profile}/{clone} below WorkDir.
		rel := filepath.Clean(filepath.FromSlash(m.Dir))
		if parts := strings.Split(filepath.ToSlash(rel), "/"); len(parts) == 3 && !filepath.IsAbs(rel) && !strings.HasPrefix(rel, "..") {
			if err := os.RemoveAll(filepath.Join(s.opts.WorkDir, rel)); err != nil {
				s.log.Warn("could not remove the clone a stopped instance left", "dir", m.Dir, "err", err)
				continue
			}
			removed++
		}
		_ = os.Remove(path)
	}
	if removed > 0 {
		s.log.Info("removed the clones a stopped instance left unfinished", "removed", removed)
	}
}

// processAlive reports whether a process with that id runs (signal 0; false where that
// cannot be asked).
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil || pid <= 0 {
		return false
	}
	return p.Signal(syscall.Signal(0)) == nil
}
