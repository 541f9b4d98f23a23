"""gunicorn settings of the web processes: `gunicorn -c deploy/gunicorn.conf.py app:server` (Procfile `web`).

- WEB_CONCURRENCY processes (default 3), each building the app once at its start;
- Prometheus multiprocess mode when PROMETHEUS_MULTIPROC_DIR is set (created here if missing; the
  files of a web process that exits are marked dead so its live gauges drop out of /metrics);
- the access log never shows secrets: `token=` query values (e.g. `?access_token=…`, unsubscribe
  links) and Authorization/Cookie header values are written as `[redacted]`.
"""
import os
import re

from gunicorn import glogging

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8050')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
worker_class = "gthread"  # a few threads per process: a slow request does not hold up the others
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = 60
graceful_timeout = 30
keepalive = 5
max_requests = 5000  # a fresh process now and then (memory), staggered by the jitter
max_requests_jitter = 500
# nginx on the same machine: believe its X-Forwarded-* (TRUSTED_PROXIES=1 tells the app the same)
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = os.environ.get("ACCESS_LOG", "-")
errorlog = "-"
# gunicorn's control socket defaults to one path per user: two instances on one machine would take
# each other's; off unless a path is given (gunicorn >= 24)
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "") or "gunicorn.ctl"
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'

TOKEN_VALUE = re.compile(r"(?i)((?:^|[?&;\s])[\w.-]*token=)[^&;\s\"#]*")
SECRET_HEADERS = {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}
# the same headers as log atoms: request `{name}i`, response `{name}o`, WSGI environ `{HTTP_NAME}e`
SECRET_ATOMS = ({f"{{{h}}}i" for h in SECRET_HEADERS} | {f"{{{h}}}o" for h in SECRET_HEADERS}
                | {f"{{http_{h.replace('-', '_')}}}e" for h in SECRET_HEADERS})
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """'GET /x?token=abc&b=1' -> 'GET /x?token=[redacted]&b=1' (any name ending in token=)."""
    return TOKEN_VALUE.sub(lambda m: m.group(1) + REDACTED, text)


class RedactingLogger(glogging.Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key, value in list(atoms.items()):
            if key.lower() in SECRET_ATOMS:
                atoms[key] = REDACTED
            elif isinstance(value, str) and "token=" in value.lower():
                atoms[key] = redact(value)
        return atoms


logger_class = RedactingLogger


def on_starting(server):
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        os.makedirs(path, exist_ok=True)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
