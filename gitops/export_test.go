package gitops

import "context"

// CloneMetered is Clone, and also returns the bytes the clone counted as written to disk
// (pack, index, work tree) when it ended, for the limit tests.
func CloneMetered(ctx context.Context, opts CloneOptions) (*Result, int64, error) {
	m := newMeter(opts, opts.Dir)
	opts.meter = m
	res, err := Clone(ctx, opts)
	return res, m.written.Load(), err
}

// WorkerBudget is the contents one resolving worker keeps (workerBudget), which a step taken
// from scratch reserves on top of its objects.
const WorkerBudget = 32 << 20

// DescribeTree is describeTree, for the external tests.
var DescribeTree = describeTree
