package services

// JanitorFirstSweep returns a channel closed once the janitor's sweep at start is over (nil
// when no janitor runs), so a test's own sweeps are not raced by it.
func JanitorFirstSweep(s *Service) <-chan struct{} { return s.clones.janitor.first }

// CloneRoot is cloneRoot, for the tests of package services_test.
func (s *Service) CloneRoot(tenant, profileID string) string { return s.cloneRoot(tenant, profileID) }
