package azdosim

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// importDir imports every bare repository laid out as {dir}/{Project}/{repo}.git into the
// default collection, in place (Options.ImportDir). Entries that are not directories, and
// directories without the .git suffix, are skipped; a .git directory that is not a bare
// repository is an error.
func (s *Server) importDir(dir string) error {
	projects, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("azdosim: import: %w", err)
	}
	sort.Slice(projects, func(i, j int) bool { return projects[i].Name() < projects[j].Name() })
	for _, pe := range projects {
		if !pe.IsDir() || strings.HasPrefix(pe.Name(), ".") {
			continue
		}
		repos, err := os.ReadDir(filepath.Join(dir, pe.Name()))
		if err != nil {
			return fmt.Errorf("azdosim: import: %w", err)
		}
		for _, re := range repos {
			if !re.IsDir() || !strings.HasSuffix(re.Name(), ".git") || re.Name() == ".git" {
				continue
			}
			name := strings.TrimSuffix(re.Name(), ".git")
			if _, err := s.ImportRepository("", pe.Name(), name, filepath.Join(dir, pe.Name(), re.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}
