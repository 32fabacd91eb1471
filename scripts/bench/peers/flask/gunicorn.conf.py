"""gunicorn settings for the Flask + MongoEngine peer, as its users deploy it on a small machine.

Workers: gunicorn's documented starting point, (2 x cores) + 1 sync workers (5 on 2 cores). Flask
and MongoEngine code is synchronous and blocks on every database call, so the sync worker (one
request at a time per process, the default) with a few more processes than cores keeps the CPUs
busy while some workers wait on MongoDB. The harness measures the CPU of the whole process tree
(master and workers). Sync workers close the connection after each response (no keep-alive), as
they do in production behind a proxy.
"""

import multiprocessing
import os

bind = f"127.0.0.1:{os.environ.get('PORT', '8000')}"
workers = multiprocessing.cpu_count() * 2 + 1
worker_class = "sync"
# No access log (gunicorn's default) and warnings only: nothing is printed per request.
accesslog = None
loglevel = "warning"
