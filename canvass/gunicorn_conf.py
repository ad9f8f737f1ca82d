"""gunicorn settings for production, used as ``gunicorn -c python:canvass.gunicorn_conf 'canvass.app:create_app()'``.

Each worker process builds its own app and database pool (no preloading: a pool must not cross a fork). Threads
let one worker serve several phones while others wait on the database. The access log names the method, the path
without its query string, the status, the size and the time taken: no client address, no user agent, no query
(search terms and emails travel there), so the log holds no personal data.
"""

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


bind = os.environ.get("CANVASS_BIND", "0.0.0.0:8000")
workers = _int("CANVASS_WORKERS", min(multiprocessing.cpu_count() * 2 + 1, 9))
worker_class = "gthread"
threads = _int("CANVASS_THREADS", 4)
# Long enough for a large upload over a slow link; imports and exports themselves run in the background.
timeout = _int("CANVASS_TIMEOUT", 120)
graceful_timeout = 30
keepalive = 5
accesslog = "-"
errorlog = "-"
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
# Behind nginx or Caddy on the same host, trust its X-Forwarded-Proto so that the app knows requests came over HTTPS.
forwarded_allow_ips = os.environ.get("CANVASS_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")


def worker_exit(_server, worker) -> None:
    """A stopping worker takes no new job and gives its running ones time to finish; on PostgreSQL what is left
    is run again by another worker (see canvass.queue)."""
    app = getattr(worker, "wsgi", None)
    runner = getattr(app, "extensions", {}).get("canvass.jobs")
    if runner is not None:
        runner.close(timeout=graceful_timeout - 5)
