package azdosim

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// seedRepo describes one demo repository: commits in order, each on top of the commit named
// by parent ("" = root), and the branches pointing at commits (by index).
type seedRepo struct {
	project, name string
	commits       []seedCommit
	branches      map[string]int
	disabled      bool
}

type seedCommit struct {
	parent  int // index of the parent commit, -1 for a root commit
	message string
	files   map[string]string
}

// seedData is the demo data of Options.Seed.
func seedData() (descriptions map[string]string, repos []seedRepo) {
	descriptions = map[string]string{
		"Fabrikam Mobile": "Fabrikam's mobile apps: the iOS and Android clients.",
		"Platform":        "Shared platform services and build tooling.",
	}
	repos = []seedRepo{
		{project: "Fabrikam Mobile", name: "ios-app", commits: []seedCommit{
			{-1, "Initial commit", map[string]string{"README.md": "# Fabrikam iOS app\n", ".gitignore": "build/\nDerivedData/\n"}},
			{0, "Add app delegate", map[string]string{"Sources/FabrikamApp/AppDelegate.swift": "import UIKit\n\n@main\nclass AppDelegate: UIResponder, UIApplicationDelegate {}\n"}},
			{1, "Add settings screen", map[string]string{"Sources/FabrikamApp/SettingsView.swift": "import SwiftUI\n\nstruct SettingsView: View {\n    var body: some View { Text(\"Settings\") }\n}\n"}},
			{1, "Describe the build", map[string]string{"README.md": "# Fabrikam iOS app\n\nBuild with Xcode 15.\n"}},
		}, branches: map[string]int{"main": 3, "develop": 2, "release/1.0": 1}},
		{project: "Fabrikam Mobile", name: "android app", commits: []seedCommit{
			{-1, "Initial commit", map[string]string{"README.md": "# Fabrikam Android app\n", "settings.gradle": "include ':app'\n", "app/build.gradle": "plugins { id 'com.android.application' }\n"}},
			{0, "Add login screen", map[string]string{"app/src/main/java/com/fabrikam/LoginActivity.kt": "package com.fabrikam\n\nclass LoginActivity\n"}},
		}, branches: map[string]int{"main": 0, "feature/login": 1}},
		{project: "Fabrikam Mobile", name: "empty-repo"},
		{project: "Fabrikam Mobile", name: "legacy-tools", disabled: true, commits: []seedCommit{
			{-1, "Import legacy tools", map[string]string{"README.md": "# Legacy tools\n", "tools/cleanup.ps1": "Write-Host 'cleanup'\n"}},
		}, branches: map[string]int{"main": 0}},
		{project: "Platform", name: "Platform", commits: []seedCommit{
			{-1, "Initial commit", map[string]string{"README.md": "# Platform\n", "docs/architecture.md": "# Architecture\n"}},
		}, branches: map[string]int{"main": 0}},
		{project: "Platform", name: "build scripts", commits: []seedCommit{
			{-1, "Add build script", map[string]string{"README.md": "# Build scripts\n", "build.sh": "#!/bin/sh\nset -eu\necho build\n"}},
		}, branches: map[string]int{"main": 0}},
	}
	return descriptions, repos
}

// seed creates the demo data in the default collection. Repositories that already exist (by
// name) are left alone; a repository directory that already has refs (a DataDir reused
// across restarts) keeps them.
func (s *Server) seed() error {
	descriptions, repos := seedData()
	names := make([]string, 0, len(descriptions))
	for n := range descriptions {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, err := s.ensureProject("", n, descriptions[n]); err != nil {
			return err
		}
	}
	for i, sr := range repos {
		if s.hasRepo(sr.project, sr.name) {
			continue
		}
		info, err := s.CreateRepository("", sr.project, sr.name)
		if err != nil {
			return err
		}
		if !hasRefs(info.BarePath) {
			if err := writeSeedCommits(info.BarePath, sr, time.Date(2024, 3, 1+i, 9, 0, 0, 0, time.UTC)); err != nil {
				return err
			}
		}
		if sr.disabled {
			if err := s.SetDisabled("", info.ID, true); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Server) hasRepo(projName, repoName string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.collections[0].findProject(projName)
	return p != nil && p.findRepo(repoName) != nil
}

// writeSeedCommits writes sr's commits into the bare repository with git plumbing (a private
// index file, hash-object, write-tree, commit-tree) and fixed author and committer dates, so
// the commit ids are the same on every run.
func writeSeedCommits(gitDir string, sr seedRepo, start time.Time) error {
	tmp, err := os.MkdirTemp("", "azdosim-index-")
	if err != nil {
		return fmt.Errorf("azdosim: seed: %w", err)
	}
	defer os.RemoveAll(tmp)
	ids := make([]string, len(sr.commits))
	for i, c := range sr.commits {
		when := fmt.Sprintf("%d +0000", start.Add(time.Duration(i)*time.Hour).Unix())
		env := []string{
			"GIT_INDEX_FILE=" + filepath.Join(tmp, "index"),
			"GIT_AUTHOR_NAME=Demo User", "GIT_AUTHOR_EMAIL=demo@fabrikam.example", "GIT_AUTHOR_DATE=" + when,
			"GIT_COMMITTER_NAME=Demo User", "GIT_COMMITTER_EMAIL=demo@fabrikam.example", "GIT_COMMITTER_DATE=" + when,
		}
		readTree := []string{"read-tree", "--empty"}
		if c.parent >= 0 {
			readTree = []string{"read-tree", ids[c.parent]}
		}
		if _, err := git(gitDir, nil, env, readTree...); err != nil {
			return err
		}
		paths := make([]string, 0, len(c.files))
		for p := range c.files {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			blob, err := git(gitDir, []byte(c.files[p]), env, "hash-object", "-w", "--stdin")
			if err != nil {
				return err
			}
			mode := "100644"
			if strings.HasSuffix(p, ".sh") {
				mode = "100755"
			}
			if _, err := git(gitDir, nil, env, "update-index", "--add", "--cacheinfo", mode+","+strings.TrimSpace(blob)+","+p); err != nil {
				return err
			}
		}
		tree, err := git(gitDir, nil, env, "write-tree")
		if err != nil {
			return err
		}
		args := []string{"commit-tree", strings.TrimSpace(tree), "-m", c.message}
		if c.parent >= 0 {
			args = append(args, "-p", ids[c.parent])
		}
		id, err := git(gitDir, nil, env, args...)
		if err != nil {
			return err
		}
		ids[i] = strings.TrimSpace(id)
	}
	branches := make([]string, 0, len(sr.branches))
	for b := range sr.branches {
		branches = append(branches, b)
	}
	sort.Strings(branches)
	for _, b := range branches {
		if _, err := git(gitDir, nil, nil, "update-ref", "refs/heads/"+b, ids[sr.branches[b]]); err != nil {
			return err
		}
	}
	return nil
}
