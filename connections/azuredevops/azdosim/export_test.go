package azdosim

// GitEnv is gitEnv for the external tests: the environment of a git process isolated from
// the host's configuration (no system or global config, no prompts, no GIT_* variables).
var GitEnv = gitEnv
