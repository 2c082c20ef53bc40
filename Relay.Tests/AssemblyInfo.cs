// Integration tests encode video, run real clients and measure timing on a 2-core machine: running them
// one at a time keeps them deterministic, and lets every interop test check for leaked native handles.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
