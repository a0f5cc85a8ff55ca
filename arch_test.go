// Package repoconnect_test holds checks of the whole module: the layering of its packages.
package repoconnect_test

import (
	"go/build"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/repoconnect/repoconnect"

// forbidden lists, per package prefix (module-relative), the import prefixes its non-test
// code must not use: dependencies point down only (web → services → connections, gitops), the
// forge drivers know nothing of HTTP routing, stores or go-git, and the simulator shares no
// code with the client it is there to test.
var forbidden = map[string][]string{
	"connections":                     {module + "/web", module + "/services", module + "/gitops", module + "/cmd", "github.com/labstack/echo", "github.com/redis/go-redis", "github.com/go-git/go-git", "go.etcd.io/bbolt"},
	"connections/azuredevops/azdosim": {module + "/connections/azuredevops\x00"},
	"gitops":                          {module + "/web", module + "/services", module + "/cmd", module + "/connections/azuredevops", "github.com/labstack/echo"},
	"services":                        {module + "/web", module + "/cmd", "github.com/labstack/echo"},
	"telemetry":                       {module},
	"web":                             {module + "/cmd", module + "/connections/azuredevops", module + "/gitops", "go.etcd.io/bbolt", "github.com/go-git/go-git"},
}

func TestLayering(t *testing.T) {
	checked := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && path != "." {
			return filepath.SkipDir
		}
		pkg, err := build.Default.ImportDir(path, 0)
		if err != nil {
			return nil // no non-test Go files here
		}
		rel := filepath.ToSlash(path)
		for prefix, bans := range forbidden {
			if rel != prefix && !strings.HasPrefix(rel, prefix+"/") {
				continue
			}
			checked++
			for _, imp := range pkg.Imports {
				for _, ban := range bans {
					exact, isExact := strings.CutSuffix(ban, "\x00")
					if (isExact && imp == exact) || (!isExact && (imp == ban || strings.HasPrefix(imp, ban+"/"))) {
						t.Errorf("%s imports %s, which its layer must not use", rel, imp)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 6 {
		t.Fatalf("only %d package/rule pairs checked: the walk found too few packages", checked)
	}
}
