"""The SDK a flow file uses: flows and tasks run in the flow's own process, futures and the
thread-pool task runner, subflows, hooks, caching, retries, the run context and logger,
variables, artifacts and global concurrency. Whatever a run records goes to a `Reporter`
(`reporting.py`): in memory for a flow called directly, to the API inside a deployment's run.

Nothing here imports the store, the API, the scheduler or the workers.
"""
