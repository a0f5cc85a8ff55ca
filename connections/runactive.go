package connections

import "errors"

// ErrRunActive: a manual run (Clone now, a clone job or a run started through the API) of a
// build profile was refused because another run of the profile is queued or running; the
// caller waits for it to finish or asks again with force. The web layer answers 409.
var ErrRunActive = errors.New("run active")

// ReasonRunActive: a manual start was refused because a run of the build profile is queued
// or running (kind ErrRunActive, HTTP 409, field "force"); the message names the active run
// and says to wait for it or send "force": true. Runs started by service hooks and the
// polling fallback (push, pull request) are never refused.
const ReasonRunActive Reason = "run_active"
