package gitops

import "github.com/repoconnect/repoconnect/connections/egress"

// LoopbackDoor is the outbound door of tests that clone from the simulator: the default
// policy with loopback allowed (the simulator listens on 127.0.0.1).
var LoopbackDoor = egress.New(egress.Options{Policy: egress.Policy{Allow: egress.Loopback()}})
