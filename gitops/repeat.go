package gitops

// The contract of repeat builds (issue 18), shared by the repository cache (cache.go), the
// reusable workspaces (workspace.go) and the service: which path a clone took and what it
// fetched and wrote.

// Source says which path a clone took.
type Source string

const (
	// SourceCold is a clone without the cache: every object fetched from the server.
	SourceCold Source = "cold"
	// SourceCache is a fresh work tree checked out from the repository cache, after an
	// incremental fetch into it.
	SourceCache Source = "cache"
	// SourceWorkspace is a reused workspace updated in place from the cache: only the files
	// that differ from the commit are written.
	SourceWorkspace Source = "workspace"
)

// Stats is what one clone moved: objects and bytes fetched from the server (the pack, 0 when
// the cache already had the commit), files and bytes written to the work tree, and files
// removed from it (a reused workspace's deleted, untracked and ignored files).
type Stats struct {
	FetchedObjects int64 `json:"fetchedObjects"`
	FetchedBytes   int64 `json:"fetchedBytes"`
	WrittenFiles   int64 `json:"writtenFiles"`
	WrittenBytes   int64 `json:"writtenBytes"`
	RemovedFiles   int64 `json:"removedFiles"`
}
