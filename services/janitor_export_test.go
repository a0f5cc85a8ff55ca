package services

// JanitorFirstSweep returns a channel closed once the janitor's sweep at start is over (nil
// when no janitor runs), so a test's own sweeps are not raced by it.
func JanitorFirstSweep(s *Service) <-chan struct{} { return s.clones.janitor.first }
