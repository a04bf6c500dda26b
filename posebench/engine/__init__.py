"""The run engine: plan -> execute -> store -> evaluate.

``posebench run`` (:func:`posebench.runner.run`) is four steps, one module each, and data flows one
way through them::

    plan.py        suite x dataset x adapter -> Plan: work units = condition x image chunk, each
                   with a content-addressed cache key (image bytes, dataset identity, condition and
                   its parameters and backend, adapter signature, seed, box source)
       |
    execute.py     units not yet in the cache -> predictions (UnitOutput). LocalExecutor runs them
    ray_executor.py  in-process; RayExecutor on actors (one adapter per worker, bounded in-flight
       |             tasks, a unit whose worker died is retried on another)
       v
    store.py       the ONE module that writes and reads run folders and the cache: atomic writes,
                   checksums (cache entries carry a SHA-256 trailer; results.json lists the digest
                   of every file of the run folder), schema validation on read, names from files
                   whitelisted before they become paths
       |
    evaluation.py  cached predictions of each condition -> metric blocks, once, on the driver

Every executor runs the same plan and the driver alone writes the cache, so a run started on Ray
resumes locally and the other way round, and ``--shard i/n`` is the plan's units ``c`` with
``c % n == i`` (``merge`` checks the shards against the plan).
"""
