package azdosim

import (
	"strings"

	"github.com/google/uuid"
)

// idNamespace is the UUID namespace every deterministic id of the simulator is derived from.
const idNamespace = "6f1c1a52-93b5-4c52-8d0e-3b6c1a9e2d41"

// deterministicID returns a name-based (SHA-1, version 5) UUID over the kind and the
// lower-cased parts, so that the same data gives the same ids across restarts and names that
// differ only in case (which Azure DevOps treats as equal) give the same id.
func deterministicID(kind string, parts ...string) string {
	key := kind + "\x00" + strings.ToLower(strings.Join(parts, "\x00"))
	return uuid.NewSHA1(uuid.MustParse(idNamespace), []byte(key)).String()
}

// nameKey is the map key of a collection, project or repository name: Azure DevOps matches
// these names case-insensitively.
func nameKey(name string) string { return strings.ToLower(name) }
