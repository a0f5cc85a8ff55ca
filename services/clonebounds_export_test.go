package services

// CloneSlotWaiters is how many clones (synchronous ones and jobs) wait for one of the
// Options.MaxClones slots, for the tests of package services_test.
func CloneSlotWaiters(s *Service) int { return int(s.clones.slots.waiting.Load()) }

// MarkerDir is the directory below the work directory that holds the running clones' markers.
const MarkerDir = markerDir
