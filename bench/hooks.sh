#!/usr/bin/env bash
# The CI/CD loop on loopback (issue 17): the project's Azure DevOps simulator delivers its real
# service-hook events to the service's hook endpoint after real `git push`es over smart HTTP;
# each push starts a run (a clone of the pushed commit) whose commit statuses the service posts
# back to the simulator. Over PUSHES pushes (default 20) to main, one after the other, prints
# the median time from `git push` returning to the run's createdAt and to the final commit
# status's creation, and the simulator requests one push costs (REST calls by route; the git
# requests of the run's clone). Figures only: nothing is asserted about time.
#
#   bench/hooks.sh            (a few seconds; needs go and git ≥ 2.38)
#   PUSHES=50 bench/hooks.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PUSHES=${PUSHES:-20}
REPOCONNECT_LOOP_PUSHES="$PUSHES" go test -count=1 -run '^TestLoopFigures$' -v ./web/ | grep -E '^(loop figures|simulator REST)'
