package web_test

import "github.com/repoconnect/repoconnect/connections/egress"

// loopbackDoor is the outbound door of tests that talk to the simulator: the default policy
// with loopback allowed (the simulator listens on 127.0.0.1).
var loopbackDoor = egress.New(egress.Options{Policy: egress.Policy{Allow: egress.Loopback()}})
